import * as z from 'zod/mini';
import { PAYMENT_GATEWAYS, STRIPE_PUBLISHABLE_KEY } from './contract.ts';

import {
  type FunctionKey,
  functionSpecs,
  PAYMENT_RETRY_SECONDS_DEFAULT,
  type QueueKey,
  queues,
  type TableKey,
  type TopicKey,
  tables,
  topics,
} from './wiring.ts';

/** What a function given these settings needs when PAYMENT_GATEWAY=stripe, and why. */
const NEEDED_FOR_STRIPE = {
  STRIPE_SECRET_KEY: 'required: PAYMENT_GATEWAY=stripe charges with this secret key',
  STRIPE_PUBLISHABLE_KEY:
    'required: PAYMENT_GATEWAY=stripe, and the buyer page collects cards with Stripe.js under this publishable key (pk_live_… or pk_test_…, from the same Stripe account as STRIPE_SECRET_KEY)',
} as const;

/** Thrown at cold start when the environment is incomplete; the message names what to set. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const name = z.string().check(z.minLength(1));
const url = z.url();
const number = (fallback: number, min: number, max: number) =>
  z._default(z.coerce.number().check(z.gte(min), z.lte(max)), fallback);

/** How long a RESERVED order may wait for the order consumer before the reconciler sends it again. */
const reenqueueGrace = number(30, 1, 3_600);

const groups = {
  // Bearer JWT verification: the authorizer's, and every protected route's in AUTH_MODE=verify.
  auth: {
    JWT_ISSUER: name,
    // Exactly one key source (checked below): a JWKS URL, or the key set inline as JSON.
    JWKS_URL: z.optional(url),
    JWKS_JSON: z.optional(z.string().check(z.refine(isKeySet, 'must be a JSON Web Key Set: {"keys":[...]}'))),
    // Issuers other than Cognito: the audience a token must carry (required for them, below).
    JWT_AUDIENCE: z.optional(name),
    // Cognito: the token kind accepted, and the app client (client_id of access tokens, aud of id tokens).
    JWT_TOKEN_USE: z.optional(z.enum(['access', 'id'])),
    JWT_CLIENT_ID: z.optional(name),
    // The one claim listing the caller's groups ("admin" in it = admin); the dev issuer uses the same.
    JWT_ADMIN_CLAIM: z._default(name, 'cognito:groups'),
    // The stack's admin user pool (MFA required): only its tokens make an admin. All three or none.
    ADMIN_JWT_ISSUER: z.optional(name),
    ADMIN_JWKS_URL: z.optional(url),
    ADMIN_JWT_CLIENT_ID: z.optional(name),
  },
  payment: {
    PAYMENT_GATEWAY: z.enum(PAYMENT_GATEWAYS),
    // The simulated gateway's knobs for drills.
    PAYMENT_LATENCY_MS: number(0, 0, 10_000),
    PAYMENT_DECLINE_RATE: number(0, 0, 1),
    PAYMENT_ERROR_RATE: number(0, 0, 1),
    // The simulated processor's rate limit (charges/s, answering 429 above it); 0 = none.
    PAYMENT_RATE_LIMIT: number(0, 0, 100_000),
    // From an order's first charge attempt, how long its payment may keep trying before the order
    // ends PAYMENT_FAILED and its units sell again (the payments queue's retries fit inside it).
    PAYMENT_RETRY_SECONDS: number(PAYMENT_RETRY_SECONDS_DEFAULT, 1, 3_600),
    // Stripe (PAYMENT_GATEWAY=stripe, checked below): the secret key (a Secrets Manager secret in
    // AWS), another API base for a stand-in, each request's timeout, and the account's limits.
    STRIPE_SECRET_KEY: z.optional(name),
    STRIPE_API_BASE: z.optional(url),
    STRIPE_TIMEOUT_MS: number(5_000, 500, 60_000),
    // A typical create + confirm of a PaymentIntent, as the capacity model reads it.
    STRIPE_LATENCY_MS: number(1_000, 1, 10_000),
    // Stripe's default in live mode is 100 write requests/s per account (25 in test mode).
    STRIPE_WRITES_PER_SECOND: number(100, 1, 100_000),
  },
  // The checkout refuses a paymentToken the configured gateway cannot take (README "Payments").
  paymentTokens: {
    PAYMENT_GATEWAY: z.enum(PAYMENT_GATEWAYS),
  },
  // The buyer page (web/): the gateway its card form serves and, for Stripe, the publishable key
  // Stripe.js runs under in the buyer's browser (public by design; checked below).
  page: {
    PAYMENT_GATEWAY: z.enum(PAYMENT_GATEWAYS),
    STRIPE_PUBLISHABLE_KEY: z.optional(
      z
        .string()
        .check(
          z.regex(
            STRIPE_PUBLISHABLE_KEY,
            'must be a Stripe publishable key (pk_live_… or pk_test_…): the page shows it to every buyer, so never a secret key',
          ),
        ),
    ),
  },
  checkout: {
    SALE_CACHE_MS: number(3_000, 0, 60_000),
    SOLD_OUT_MEMO_MS: number(1_000, 0, 60_000),
    CHECKOUT_MAX_ATTEMPTS: number(8, 1, 20),
    // The time one checkout may spend before it answers RETRY; well under placeOrder's timeout.
    CHECKOUT_BUDGET_MS: number(3_000, 200, 20_000),
    REENQUEUE_GRACE_SECONDS: reenqueueGrace,
  },
  // HMAC key for tokens this API issues and later reads back (pagination tokens, admission tokens):
  // a Secrets Manager secret in AWS, a per-data-dir random key locally.
  signing: {
    TOKEN_SIGNING_KEY: z.string().check(z.minLength(32)),
  },
  // Public documents (the sale, the room): how long a shared cache (the edge) may keep them.
  public: {
    PUBLIC_MAX_AGE_SECONDS: number(1, 1, 60),
  },
  reconcile: {
    RECONCILE_BATCH_LIMIT: number(500, 1, 10_000),
    // How old a number taken but never claimed must be before the sweep gives it back: longer
    // than any checkout's budget, so a claim still in flight is never raced.
    SWEEP_GRACE_SECONDS: number(30, 10, 3_600),
    REENQUEUE_GRACE_SECONDS: reenqueueGrace,
  },
} as const;

/**
 * The browser origins every HTTP response names in Access-Control-Allow-Origin: `*` or a
 * comma-separated list (`https://shop.example,https://*.shop.example`); the CDK app sets it from
 * `-c corsOrigins`. A request from any other origin gets no CORS header, so browsers hide the answer.
 */
const CORS_ORIGINS = z._default(
  z
    .string()
    .check(
      z.refine(
        (text) => text.split(',').every((origin) => /^(\*|https?:\/\/[^/\s,]+)$/.test(origin.trim())),
        'must be * or comma-separated origins like https://shop.example (scheme and host, no path)',
      ),
    ),
  '*',
);

const common = {
  AWS_REGION: z._default(name, 'us-east-1'),
  // Who checks bearer tokens on buyer/admin routes: API Gateway's Lambda authorizer (its context is
  // trusted), or the route itself (LocalStack Community has no Lambda authorizers).
  AUTH_MODE: z._default(z.enum(['authorizer', 'verify']), 'authorizer'),
  // Set only when talking to an emulator or LocalStack; absent in AWS.
  DYNAMODB_ENDPOINT: z.optional(url),
  SQS_ENDPOINT: z.optional(url),
  SNS_ENDPOINT: z.optional(url),
};

type GroupValues<G extends keyof typeof groups> = z.infer<z.ZodMiniObject<(typeof groups)[G]>>;

export interface Config {
  region: string;
  authMode: 'authorizer' | 'verify';
  endpoints: { dynamodb?: string; sqs?: string; sns?: string };
  tableName(table: TableKey): string;
  queueUrl(queue: QueueKey): string;
  topicArn(topic: TopicKey): string;
  auth: GroupValues<'auth'>;
  payment: GroupValues<'payment'>;
  paymentTokens: GroupValues<'paymentTokens'>;
  page: GroupValues<'page'>;
  checkout: GroupValues<'checkout'>;
  reconcile: GroupValues<'reconcile'>;
  signing: GroupValues<'signing'>;
  public: GroupValues<'public'>;
}

/** Environment variables a function needs: resource names from its wiring entry plus its groups. */
export function envSchemaFor(fn: FunctionKey) {
  const spec = functionSpecs[fn];
  const shape: Record<string, z.core.SomeType> = { ...common };
  for (const table of Object.keys(spec.access.tables ?? {}) as TableKey[]) shape[tables[table].envVar] = name;
  for (const queue of spec.access.sendTo ?? []) shape[queues[queue].envVar] = name;
  for (const topic of spec.access.publishTo ?? []) shape[topics[topic].envVar] = name;
  for (const group of spec.env ?? []) Object.assign(shape, groups[group]);
  if (spec.http) shape.CORS_ORIGINS = CORS_ORIGINS;
  const verifiesTokens = (spec.env ?? []).includes('auth');
  const guardsRoute = spec.http !== undefined && spec.http.auth !== 'public';
  if (!verifiesTokens && guardsRoute) {
    // Demanded only in verify mode (below); under an authorizer the route trusts its context.
    for (const [key, schema] of Object.entries(groups.auth))
      shape[key] = key === 'JWT_ADMIN_CLAIM' ? schema : z.optional(schema as z.core.SomeType);
  }
  return z.object(shape).check(
    z.superRefine((env: Record<string, unknown>, ctx) => {
      const problem = (path: string, message: string) =>
        ctx.issues.push({ code: 'custom', path: [path], message, input: env[path] });
      if (env.PAYMENT_GATEWAY === 'stripe') {
        for (const [key, why] of Object.entries(NEEDED_FOR_STRIPE))
          if (key in shape && !env[key]) problem(key, why);
      }
      const needed = verifiesTokens || (guardsRoute && env.AUTH_MODE === 'verify');
      if (!needed) return;
      if (!env.JWT_ISSUER) problem('JWT_ISSUER', 'required: AUTH_MODE=verify checks tokens in the route');
      if ((env.JWKS_URL === undefined) === (env.JWKS_JSON === undefined))
        problem('JWKS_URL', 'set exactly one of JWKS_URL and JWKS_JSON');
      if ((env.JWT_TOKEN_USE === undefined) !== (env.JWT_CLIENT_ID === undefined))
        problem('JWT_CLIENT_ID', 'JWT_TOKEN_USE and JWT_CLIENT_ID go together (Cognito)');
      const cognitoIssuer =
        typeof env.JWT_ISSUER === 'string' &&
        /^https:\/\/cognito-idp\.[^/]+\.amazonaws\.com\//.test(env.JWT_ISSUER);
      if (cognitoIssuer && env.JWT_TOKEN_USE === undefined)
        problem('JWT_TOKEN_USE', 'a Cognito issuer needs JWT_TOKEN_USE (access|id) and JWT_CLIENT_ID');
      else if (env.JWT_TOKEN_USE === undefined && env.JWT_AUDIENCE === undefined)
        problem(
          'JWT_AUDIENCE',
          "required for an issuer other than Cognito: without it a token the issuer minted for any other application is accepted; set JWT_AUDIENCE to the aud of this API's tokens",
        );
      const admin = [env.ADMIN_JWT_ISSUER, env.ADMIN_JWKS_URL, env.ADMIN_JWT_CLIENT_ID];
      if (admin.some((v) => v !== undefined) && admin.some((v) => v === undefined))
        problem(
          'ADMIN_JWT_ISSUER',
          'ADMIN_JWT_ISSUER, ADMIN_JWKS_URL and ADMIN_JWT_CLIENT_ID go together (the admin user pool)',
        );
    }),
  );
}

/** CORS_ORIGINS as a list, parsed once per route module at cold start (shared/http/route.ts). */
/** The admins' pool's issuer, when admins have their own pool (ADMIN_JWT_ISSUER); checked with the auth group. */
export function adminIssuerFrom(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.ADMIN_JWT_ISSUER || undefined;
}

export function corsOriginsFrom(env: NodeJS.ProcessEnv = process.env): string[] {
  const result = CORS_ORIGINS.safeParse(env.CORS_ORIGINS);
  if (!result.success)
    throw new ConfigError(
      `Invalid configuration; set CORS_ORIGINS: ${result.error.issues.map((issue) => issue.message).join('; ')}`,
    );
  return result.data
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
}

function isKeySet(text: string): boolean {
  try {
    const parsed = JSON.parse(text) as { keys?: unknown };
    return Array.isArray(parsed.keys) && parsed.keys.length > 0;
  } catch {
    return false;
  }
}

/** Parses the environment once, at cold start. Fails with every missing or invalid variable named. */
export function loadConfig(fn: FunctionKey, env: NodeJS.ProcessEnv = process.env): Config {
  const result = envSchemaFor(fn).safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(
      `Invalid configuration for ${fn}; set these environment variables:\n  ${problems.join('\n  ')}`,
    );
  }
  const values = result.data as Record<string, unknown>;
  const spec = functionSpecs[fn];
  const authMode = values.AUTH_MODE as Config['authMode'];
  const verifiesInRoute = authMode === 'verify' && spec.http !== undefined && spec.http.auth !== 'public';
  const pick = <G extends keyof typeof groups>(group: G) =>
    (spec.env ?? []).includes(group) || (group === 'auth' && verifiesInRoute)
      ? (Object.fromEntries(Object.keys(groups[group]).map((k) => [k, values[k]])) as GroupValues<G>)
      : (new Proxy(
          {},
          { get: () => misuse(`${fn} did not declare the ${group} settings in the wiring table`) },
        ) as GroupValues<G>);
  const resource = (envVar: string, what: string) => {
    const value = values[envVar];
    if (typeof value !== 'string') return misuse(`${fn} has no access to ${what} in the wiring table`);
    return value;
  };
  return {
    region: values.AWS_REGION as string,
    authMode,
    endpoints: {
      dynamodb: values.DYNAMODB_ENDPOINT as string | undefined,
      sqs: values.SQS_ENDPOINT as string | undefined,
      sns: values.SNS_ENDPOINT as string | undefined,
    },
    tableName: (table) => resource(tables[table].envVar, `table ${table}`),
    queueUrl: (queue) => resource(queues[queue].envVar, `queue ${queue}`),
    topicArn: (topic) => resource(topics[topic].envVar, `topic ${topic}`),
    auth: pick('auth'),
    payment: pick('payment'),
    paymentTokens: pick('paymentTokens'),
    page: pick('page'),
    checkout: pick('checkout'),
    reconcile: pick('reconcile'),
    signing: pick('signing'),
    public: pick('public'),
  };
}

function misuse(message: string): never {
  throw new ConfigError(message);
}
