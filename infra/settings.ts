import type { Node } from 'constructs';
import { PAYMENT_GATEWAYS, type PaymentGatewayKind } from '../shared/contract.ts';
import { DEFAULT_PROCESSOR, type ProcessorPlan } from '../shared/pipeline-plan.ts';
import type { CheckoutDeps } from '../shared/usecases/checkout.ts';
import type { PipelineEvent } from '../shared/usecases/pipeline.ts';
import { apiThrottle, type FunctionKey, functionSpecs, type ThrottleSpec } from '../shared/wiring.ts';
import {
  type ConcurrencyPlan,
  DEFAULT_SHARE,
  concurrencyPlan as planConcurrency,
} from './concurrency-plan.ts';
import { deployedFunctions } from './deployed.ts';
import { readDevJwks } from './dev-jwks.ts';
import type { WafLimits } from './waf.ts';

/**
 * Deployment settings: everything the CDK app decides that the wiring table does not. Values
 * come from CDK context (`cdk deploy -c stage=prod -c jwtIssuer=...`) or, in tests, from props.
 */
export interface Settings {
  /** `prod` retains data (RemovalPolicy.RETAIN + deletion protection); anything else is disposable. */
  stage: string;
  /** Another OIDC issuer instead of the Cognito user pool the app creates. */
  jwtIssuer?: string;
  /** Defaults to `${jwtIssuer}/.well-known/jwks.json`. */
  jwksUrl?: string;
  jwtAudience?: string;
  /** Cognito only: which token kind the API accepts (`id`, as the docs fetch; or `access`). */
  jwtTokenUse: 'id' | 'access';
  /** The one claim listing the caller's groups (`admin` in it = admin); unset = `cognito:groups`. */
  jwtAdminClaim?: string;
  /** Simulated payment gateway knobs for drills (PAYMENT_LATENCY_MS, ...); unset = the code's defaults. */
  /** `-c paymentGateway=stripe` takes real money; `simulated` (default) is refused in prod (infra/payment.ts). */
  paymentGateway: PaymentGatewayKind;
  /** `-c allowSimulatedPayments=true`: a prod stage that deliberately takes no money (a drill stack). */
  allowSimulatedPayments: boolean;
  /** Secrets Manager secret holding the Stripe secret key; default `flash-sale/<stage>/stripe-secret-key`. */
  stripeSecretName: string;
  /** `-c stripePublishableKey=pk_…`: the buyer page's Stripe.js key; required with Stripe, ignored otherwise. */
  stripePublishableKey?: string;
  payment: { latencyMs?: number; declineRate?: number; errorRate?: number; rateLimit?: number };
  /**
   * The card processor the payment consumer is sized for (`-c processorLatencyMs`, `-c
   * processorRatePerSecond`): its maxConcurrency is paymentConsumers(processor), as `npm run capacity`
   * models. Default: shared/pipeline-plan.ts DEFAULT_PROCESSOR (0.5 s, 100 charges/s).
   */
  processor: ProcessorPlan;
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Allowed CORS origins for browsers; `*` by default (the API uses bearer tokens, not cookies). */
  corsOrigins: string[];
  /** Email address subscribed to the alarm topic, if any. */
  alarmEmail?: string;
  /** Lambda architecture: arm64 in AWS; x86_64 helps LocalStack on Intel hosts without arm64 emulation. */
  lambdaArchitecture: 'arm64' | 'x86_64';
  /**
   * `aws` (default) or `localstack` (`-c target=localstack`, used by `npm run deploy:local`): no
   * Cognito, no Lambda authorizer (routes verify bearer tokens themselves against the dev issuer's
   * public JWKS), no X-Ray, no dashboard: what LocalStack Community can deploy.
   */
  target: 'aws' | 'localstack';
  /** localstack target: the dev issuer's public JWKS (JSON) the routes verify tokens against. */
  devJwks?: string;
  /** Warm capacity baseline written into the template (the operator command raises it for a drop). */
  capacity: Capacity;
  /**
   * The WAF web ACL on the API stage (infra/waf.ts): on by default in prod (`-c waf=false` drops
   * it), off elsewhere (`-c waf=true`); never on the localstack target (no WAFv2 in Community).
   */
  waf?: WafLimits;
  /** Cognito: buyers may create their own accounts (`-c selfSignUp=true`); off by default. */
  selfSignUp: boolean;
  /**
   * The account's Lambda concurrency quota (`-c accountConcurrency`, which `npm run deploy` reads
   * from Lambda GetAccountSettings; assumed small without it): the concurrency plan and the
   * account concurrency alarm follow it.
   */
  accountConcurrency: number;
  /** Reserved concurrency this stack may have (infra/concurrency-plan.ts). */
  concurrencyPlan: ConcurrencyPlan;
  /**
   * A CloudFront distribution in front (`-c edge=true|false`; default on for aws, off for
   * localstack): the page at `/`, the API under the same origin, public documents cached.
   */
  edge: boolean;
  /** max-age of the public documents (the sale, the room) in seconds (`-c publicMaxAge`, 1–60). */
  publicMaxAgeSeconds: number;
  /**
   * The checkout method's throttle (`-c checkoutRateLimit`, `-c checkoutBurstLimit`; default the
   * wiring's apiThrottle): raise it with the account's API quota for a drop above 8,000 checkouts/s.
   */
  checkoutThrottle: ThrottleSpec;
}

export interface Capacity {
  /** Provisioned concurrency on the `live` alias per function; absent or 0 = none. */
  provisionedConcurrency: Partial<Record<FunctionKey, number>>;
  /** DynamoDB warm throughput of every wiring table (and its indexes); unset = DynamoDB's default. */
  warmThroughput?: { readUnitsPerSecond: number; writeUnitsPerSecond: number };
}

export const isProd = (settings: Pick<Settings, 'stage'>) => settings.stage === 'prod';

/**
 * Per-IP WAF limits on the checkout and on joining the line, per minute. A buyer who is refused
 * RETRY tries again after 3 s (Retry-After), so 8 tries of a few orders stay far below them; a
 * carrier-grade NAT puts many buyers behind one IP, hence not lower. Context overrides them.
 */
export const wafDefaults = { checkoutPerMinute: 120, joinPerMinute: 120 } as const;

/** Powertools settings shared by every function; the local runtime uses the same values. */
export const SERVICE_NAME = 'flash-sale';
export const METRICS_NAMESPACE = 'FlashSale';

/** Stage name of the REST API (the URL ends in `/v1/`). */
export const API_STAGE = 'v1';

/** The checkout route, by wiring key; the dashboard's headline graphs follow it. */
export const CHECKOUT_FUNCTION: FunctionKey = 'placeOrder';

/** Wiring key of the TOKEN authorizer (the one function with the auth env group and no route). */
export const AUTHORIZER_FUNCTION: FunctionKey = 'authorizer';

/** The alias API Gateway invokes; provisioned concurrency lives on it (`npm run capacity:raise`). */
export const LIVE_ALIAS = 'live';

/**
 * Warm capacity: THE place for its numbers. Placeholders until the capacity model (`npm run
 * capacity`) recommends real ones; context overrides them per deploy. The template keeps a modest
 * baseline (none); `npm run capacity:raise` lifts it before a drop and `:lower` after.
 */
export const provisionedConcurrencyKeys = {
  placeOrder: 'provisionedCheckout',
  authorizer: 'provisionedAuthorizer',
} as const satisfies Partial<Record<FunctionKey, string>>;
export const capacityDefaults: Capacity = {
  provisionedConcurrency: { placeOrder: 0, authorizer: 0 },
  warmThroughput: undefined,
};
/** DynamoDB on-demand tables start warm at 4,000 writes/s and 12,000 reads/s; below that is a no-op. */
export const MIN_WARM = { readUnitsPerSecond: 12_000, writeUnitsPerSecond: 4_000 } as const;
/**
 * A payments batch runs its records at once; each may wait up to a second for a pacer slot and
 * makes ~4 DynamoDB calls besides its charge: allow this much besides the charge itself.
 */
export const PAYMENT_BATCH_OVERHEAD_SECONDS = 4;

/** Ops thresholds. */
export const alarmThresholds = {
  /** A message older than this in a main queue means the pipeline is stuck or far behind. */
  queueOldestMessageSeconds: 300,
  /** Share of API requests answered with 5xx (API Gateway's 5XXError averaged over a minute). */
  api5xxRate: 0.01,
  /** Share of API requests answered 429 RETRY (throttle or overload) that means capacity is short. */
  api429Rate: 0.1,
  /** Checkout p99 latency at the API (ms): the burst drill's target (issue 8). */
  checkoutP99Ms: 2_000,
  /** Account-wide Lambda concurrency, as a share of the account limit, worth a look. */
  accountConcurrencyShare: 0.8,
  /** Authorizer p99 duration, as a share of its timeout: past it, the JWKS fetch or the CPU is struggling. */
  authorizerDurationShare: 0.8,
} as const;

/** Powertools EMF metrics the code emits (namespace FlashSale, dimension service). */
type CheckoutEvent = Parameters<NonNullable<CheckoutDeps['observe']>>[0];
export const checkoutOutcomes = [
  'reserved',
  'soldOut',
  'contention',
  'enqueueFailed',
] as const satisfies readonly CheckoutEvent[];
export const pipelineOutcomes = [
  'confirmed',
  'paymentFailed',
  'expired',
  'cancelled',
  'unitsReleased',
  'reenqueued',
  'eventPublishFailed',
] as const satisfies readonly PipelineEvent[];
export const DEAD_LETTERED_METRIC = 'messagesDeadLettered';
/**
 * Outcomes that mean something needs a look even though no request failed: an accepted order
 * not yet sent to its queue (the reconciler re-sends it), a committed transition whose order
 * event was not published. Any occurrence alarms.
 */
export const alarmedOutcomes = {
  enqueueFailed:
    'Checkout accepted orders it could not send to the orders queue; the reconciler re-sends them. Check SQS errors in the placeOrder logs.',
  eventPublishFailed:
    'Committed order transitions whose order event was not published to SNS; subscribers missed them. Check SNS errors in the logs.',
} as const satisfies Partial<Record<CheckoutEvent | PipelineEvent, string>>;

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/** Reads settings from CDK context; `overrides` (tests) win. Throws on malformed values. */
export function readSettings(node: Node, overrides: Partial<Settings> = {}): Settings {
  const text = (key: string): string | undefined => {
    const value = node.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
      throw new Error(`Context ${key} must be a string`);
    return String(value);
  };
  const num = (key: string, min: number, max: number): number | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new Error(`Context ${key} must be a number in [${min}, ${max}], got ${value}`);
    return n;
  };

  const flag = (key: string): boolean | undefined => {
    const value = text(key);
    if (value === undefined) return undefined;
    if (value !== 'true' && value !== 'false') throw new Error(`Context ${key} must be true or false`);
    return value === 'true';
  };

  const stage = overrides.stage ?? text('stage') ?? 'dev';
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(stage))
    throw new Error(`Context stage must match [a-z][a-z0-9-]{0,19}, got ${stage}`);

  const logLevel = (overrides.logLevel ?? text('logLevel')?.toUpperCase() ?? 'INFO') as Settings['logLevel'];
  if (!LOG_LEVELS.includes(logLevel))
    throw new Error(`Context logLevel must be one of ${LOG_LEVELS.join(', ')}`);

  const lambdaArchitecture = (overrides.lambdaArchitecture ??
    text('lambdaArchitecture') ??
    'arm64') as Settings['lambdaArchitecture'];
  if (lambdaArchitecture !== 'arm64' && lambdaArchitecture !== 'x86_64')
    throw new Error('Context lambdaArchitecture must be arm64 or x86_64');

  const jwtIssuer = overrides.jwtIssuer ?? text('jwtIssuer');
  const jwksUrl = overrides.jwksUrl ?? text('jwksUrl');
  if (jwksUrl && !jwtIssuer) throw new Error('Context jwksUrl needs jwtIssuer as well');
  for (const [key, value] of [
    ['jwtIssuer', jwtIssuer],
    ['jwksUrl', jwksUrl],
  ] as const) {
    if (value !== undefined && !URL.canParse(value))
      throw new Error(`Context ${key} must be a URL, got ${value}`);
  }

  const jwtAudience = overrides.jwtAudience ?? text('jwtAudience');
  if (jwtIssuer && !jwtAudience)
    throw new Error(
      `Context jwtIssuer needs jwtAudience as well: without it a token ${jwtIssuer} minted for any other application would be accepted (functions fail to start without JWT_AUDIENCE). Pass -c jwtAudience=<the aud of this API's tokens>`,
    );

  const corsOrigins = overrides.corsOrigins ??
    text('corsOrigins')
      ?.split(',')
      .map((origin) => origin.trim())
      .filter(Boolean) ?? ['*'];

  const target = (overrides.target ?? text('target') ?? 'aws') as Settings['target'];
  if (target !== 'aws' && target !== 'localstack')
    throw new Error('Context target must be aws or localstack');
  if (target === 'localstack' && jwtIssuer)
    throw new Error('Context jwtIssuer is for target aws; the localstack target trusts the dev issuer');

  const jwtTokenUse = (overrides.jwtTokenUse ?? text('jwtTokenUse') ?? 'id') as Settings['jwtTokenUse'];
  if (jwtTokenUse !== 'id' && jwtTokenUse !== 'access')
    throw new Error('Context jwtTokenUse must be id or access');

  const payment = overrides.payment ?? {
    latencyMs: num('paymentLatencyMs', 0, 10_000),
    declineRate: num('paymentDeclineRate', 0, 1),
    errorRate: num('paymentErrorRate', 0, 1),
    rateLimit: num('paymentRateLimit', 0, 100_000),
  };
  assertPaymentBatchFits(payment.latencyMs ?? 0);
  const processor = overrides.processor ?? {
    latencyMs: num('processorLatencyMs', 1, 10_000) ?? DEFAULT_PROCESSOR.latencyMs,
    ratePerSecond: num('processorRatePerSecond', 1, 100_000) ?? DEFAULT_PROCESSOR.ratePerSecond,
  };

  const accountConcurrency = overrides.accountConcurrency ?? num('accountConcurrency', 1, 10_000_000);
  const share =
    num('concurrencyShare', 0.01, 1) ?? (stage === 'prod' ? DEFAULT_SHARE.prod : DEFAULT_SHARE.other);
  const deployed = deployedFunctions({ target, jwtIssuer });
  const concurrencyPlan =
    overrides.concurrencyPlan ??
    planConcurrency({
      accountConcurrency,
      share,
      checkout: CHECKOUT_FUNCTION,
      wanted: Object.fromEntries(deployed.map(([key, spec]) => [key, spec.reservedConcurrency ?? 0])),
    });
  const paymentGateway = (overrides.paymentGateway ??
    text('paymentGateway') ??
    'simulated') as PaymentGatewayKind;
  if (!PAYMENT_GATEWAYS.includes(paymentGateway))
    throw new Error(
      `Context paymentGateway must be one of ${PAYMENT_GATEWAYS.join(', ')}, got ${paymentGateway}`,
    );
  const allowSimulated = overrides.allowSimulatedPayments ?? text('allowSimulatedPayments') ?? 'false';
  if (!['true', 'false', true, false].includes(allowSimulated))
    throw new Error(`Context allowSimulatedPayments must be true or false, got ${allowSimulated}`);
  const stripeSecretName =
    overrides.stripeSecretName ?? text('stripeSecretName') ?? `flash-sale/${stage}/stripe-secret-key`;
  // Checked by assertStripeKeys (infra/payment.ts); only a Stripe stack's page carries one.
  const stripePublishableKey =
    paymentGateway === 'stripe'
      ? (overrides.stripePublishableKey ?? text('stripePublishableKey'))
      : undefined;

  const provisioned: Partial<Record<FunctionKey, number>> = { ...capacityDefaults.provisionedConcurrency };
  for (const [fn, key] of Object.entries(provisionedConcurrencyKeys) as [FunctionKey, string][]) {
    const value = num(key, 0, 10_000);
    if (value !== undefined) provisioned[fn] = value;
  }
  Object.assign(provisioned, overrides.capacity?.provisionedConcurrency);
  for (const [fn, value] of Object.entries(provisioned) as [FunctionKey, number][]) {
    if (!Number.isInteger(value)) throw new Error(`Provisioned concurrency of ${fn} must be an integer`);
    const reserved = concurrencyPlan.reserved[fn];
    if (reserved !== undefined && value > reserved)
      throw new Error(
        `Provisioned concurrency of ${fn} (${value}) exceeds its reserved concurrency (${reserved}, the account's concurrency plan)`,
      );
  }
  const warmReads = num('warmReadsPerSecond', 1, 1_000_000);
  const warmWrites = num('warmWritesPerSecond', 1, 1_000_000);
  const warmThroughput =
    overrides.capacity && 'warmThroughput' in overrides.capacity
      ? overrides.capacity.warmThroughput
      : warmReads !== undefined || warmWrites !== undefined
        ? {
            readUnitsPerSecond: Math.max(warmReads ?? 0, MIN_WARM.readUnitsPerSecond),
            writeUnitsPerSecond: Math.max(warmWrites ?? 0, MIN_WARM.writeUnitsPerSecond),
          }
        : capacityDefaults.warmThroughput;

  const allPer5Minutes = num('wafRateLimit', 10, 2_000_000_000);
  const botControl = flag('botControl') ?? false;
  const wafOn = flag('waf') ?? (stage === 'prod' || allPer5Minutes !== undefined || botControl);
  if (target === 'localstack' && flag('waf') === true)
    throw new Error('Context waf=true is for target aws: LocalStack Community has no WAFv2');
  if (!wafOn && (allPer5Minutes !== undefined || botControl))
    throw new Error('Context wafRateLimit and botControl are rules of the web ACL that -c waf=false drops');
  const waf: WafLimits | undefined =
    'waf' in overrides
      ? overrides.waf
      : wafOn && target === 'aws'
        ? {
            checkoutPerMinute:
              num('wafCheckoutPerMinute', 10, 2_000_000_000) ?? wafDefaults.checkoutPerMinute,
            joinPerMinute: num('wafJoinPerMinute', 10, 2_000_000_000) ?? wafDefaults.joinPerMinute,
            ...(allPer5Minutes !== undefined ? { allPer5Minutes } : {}),
            botControl,
          }
        : undefined;

  let devJwks = overrides.devJwks ?? text('jwks');
  if (target === 'localstack') {
    devJwks ??= readDevJwks();
    assertJwks(devJwks);
  }

  return {
    stage,
    target,
    devJwks,
    capacity: { provisionedConcurrency: provisioned, warmThroughput },
    waf,
    selfSignUp: overrides.selfSignUp ?? flag('selfSignUp') ?? false,
    accountConcurrency: concurrencyPlan.accountConcurrency,
    concurrencyPlan,
    edge: overrides.edge ?? flag('edge') ?? target === 'aws',
    publicMaxAgeSeconds: overrides.publicMaxAgeSeconds ?? num('publicMaxAge', 1, 60) ?? 1,
    checkoutThrottle: {
      rateLimit: num('checkoutRateLimit', 1, 1_000_000) ?? apiThrottle.methods.placeOrder.rateLimit,
      burstLimit: num('checkoutBurstLimit', 1, 1_000_000) ?? apiThrottle.methods.placeOrder.burstLimit,
    },
    jwtIssuer,
    jwksUrl: jwksUrl ?? (jwtIssuer ? `${jwtIssuer.replace(/\/$/, '')}/.well-known/jwks.json` : undefined),
    jwtAudience,
    jwtTokenUse,
    jwtAdminClaim: overrides.jwtAdminClaim ?? text('jwtAdminClaim'),
    payment,
    paymentGateway,
    allowSimulatedPayments: allowSimulated === true || allowSimulated === 'true',
    stripeSecretName,
    stripePublishableKey,
    processor,
    logLevel,
    corsOrigins,
    alarmEmail: overrides.alarmEmail ?? text('alarmEmail'),
    lambdaArchitecture,
  };
}

/**
 * Refuses a payment latency under which one batch of the payment consumer would outlive the
 * function's timeout: its records run at once, and a charge is sent only while twice its latency
 * remains (shared/usecases/pipeline.ts), so a batch needs 2 × latency plus overhead.
 */
export function assertPaymentBatchFits(latencyMs: number): void {
  for (const [key, spec] of Object.entries(functionSpecs)) {
    if (!spec.env?.includes('payment') || !spec.consumes) continue;
    const needed = (2 * latencyMs) / 1000 + PAYMENT_BATCH_OVERHEAD_SECONDS;
    if (needed > spec.timeoutSeconds)
      throw new Error(
        `Context paymentLatencyMs ${latencyMs}: a batch on ${key} needs ~${needed} s ` +
          `(2 × latency + ${PAYMENT_BATCH_OVERHEAD_SECONDS} s) but its timeout is ${spec.timeoutSeconds} s; ` +
          `use at most ${Math.floor(((spec.timeoutSeconds - PAYMENT_BATCH_OVERHEAD_SECONDS) * 1000) / 2)} ms.`,
      );
  }
}

function assertJwks(jwks: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jwks);
  } catch {
    throw new Error('Context jwks must be a JSON Web Key Set ({"keys":[...]})');
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0)
    throw new Error('Context jwks must be a JSON Web Key Set with at least one key');
  for (const key of keys as Record<string, unknown>[]) {
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'])
      if (secret in key)
        throw new Error(`Context jwks holds a private key member "${secret}"; pass the public key only`);
  }
}
