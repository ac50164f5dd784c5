import type { Node } from 'constructs';
import type { CheckoutDeps } from '../shared/usecases/checkout.ts';
import type { PipelineEvent } from '../shared/usecases/pipeline.ts';
import type { FunctionKey } from '../shared/wiring.ts';

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
  /** Simulated payment gateway knobs for drills (PAYMENT_LATENCY_MS, ...); unset = the code's defaults. */
  payment: { latencyMs?: number; declineRate?: number; errorRate?: number };
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Allowed CORS origins for browsers; `*` by default (the API uses bearer tokens, not cookies). */
  corsOrigins: string[];
  /** Email address subscribed to the alarm topic, if any. */
  alarmEmail?: string;
  /** Lambda architecture: arm64 in AWS; x86_64 helps LocalStack on Intel hosts without arm64 emulation. */
  lambdaArchitecture: 'arm64' | 'x86_64';
}

export const isProd = (settings: Pick<Settings, 'stage'>) => settings.stage === 'prod';

/** Powertools settings shared by every function; the local runtime uses the same values. */
export const SERVICE_NAME = 'flash-sale';
export const METRICS_NAMESPACE = 'FlashSale';

/** Stage name of the REST API (the URL ends in `/v1/`). */
export const API_STAGE = 'v1';

/** The checkout route, by wiring key; the dashboard's headline graphs follow it. */
export const CHECKOUT_FUNCTION: FunctionKey = 'placeOrder';

/** Ops thresholds. */
export const alarmThresholds = {
  /** A message older than this in a main queue means the pipeline is stuck or far behind. */
  queueOldestMessageSeconds: 300,
  /** Share of API requests answered with 5xx (API Gateway's 5XXError averaged over a minute). */
  api5xxRate: 0.01,
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

  const corsOrigins = overrides.corsOrigins ??
    text('corsOrigins')
      ?.split(',')
      .map((origin) => origin.trim())
      .filter(Boolean) ?? ['*'];

  return {
    stage,
    jwtIssuer,
    jwksUrl: jwksUrl ?? (jwtIssuer ? `${jwtIssuer.replace(/\/$/, '')}/.well-known/jwks.json` : undefined),
    jwtAudience: overrides.jwtAudience ?? text('jwtAudience'),
    payment: overrides.payment ?? {
      latencyMs: num('paymentLatencyMs', 0, 10_000),
      declineRate: num('paymentDeclineRate', 0, 1),
      errorRate: num('paymentErrorRate', 0, 1),
    },
    logLevel,
    corsOrigins,
    alarmEmail: overrides.alarmEmail ?? text('alarmEmail'),
    lambdaArchitecture,
  };
}
