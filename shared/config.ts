import * as z from 'zod/mini';
import {
  type FunctionKey,
  functionSpecs,
  type QueueKey,
  queues,
  type TableKey,
  type TopicKey,
  tables,
  topics,
} from './wiring.ts';

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
  auth: {
    JWT_ISSUER: name,
    JWKS_URL: url,
    JWT_AUDIENCE: z.optional(name),
  },
  payment: {
    PAYMENT_GATEWAY: z.enum(['simulated']),
    PAYMENT_LATENCY_MS: number(0, 0, 10_000),
    PAYMENT_DECLINE_RATE: number(0, 0, 1),
    PAYMENT_ERROR_RATE: number(0, 0, 1),
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
  reconcile: {
    RECONCILE_BATCH_LIMIT: number(500, 1, 10_000),
    // How old a number taken but never claimed must be before the sweep gives it back: longer
    // than any checkout's budget, so a claim still in flight is never raced.
    SWEEP_GRACE_SECONDS: number(30, 10, 3_600),
    REENQUEUE_GRACE_SECONDS: reenqueueGrace,
  },
} as const;

const common = {
  AWS_REGION: z._default(name, 'us-east-1'),
  // Set only when talking to an emulator or LocalStack; absent in AWS.
  DYNAMODB_ENDPOINT: z.optional(url),
  SQS_ENDPOINT: z.optional(url),
  SNS_ENDPOINT: z.optional(url),
};

type GroupValues<G extends keyof typeof groups> = z.infer<z.ZodMiniObject<(typeof groups)[G]>>;

export interface Config {
  region: string;
  endpoints: { dynamodb?: string; sqs?: string; sns?: string };
  tableName(table: TableKey): string;
  queueUrl(queue: QueueKey): string;
  topicArn(topic: TopicKey): string;
  auth: GroupValues<'auth'>;
  payment: GroupValues<'payment'>;
  checkout: GroupValues<'checkout'>;
  reconcile: GroupValues<'reconcile'>;
  signing: GroupValues<'signing'>;
}

/** Environment variables a function needs: resource names from its wiring entry plus its groups. */
export function envSchemaFor(fn: FunctionKey) {
  const spec = functionSpecs[fn];
  const shape: Record<string, z.core.SomeType> = { ...common };
  for (const table of Object.keys(spec.access.tables ?? {}) as TableKey[]) shape[tables[table].envVar] = name;
  for (const queue of spec.access.sendTo ?? []) shape[queues[queue].envVar] = name;
  for (const topic of spec.access.publishTo ?? []) shape[topics[topic].envVar] = name;
  for (const group of spec.env ?? []) Object.assign(shape, groups[group]);
  return z.object(shape);
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
  const pick = <G extends keyof typeof groups>(group: G) =>
    (spec.env ?? []).includes(group)
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
    checkout: pick('checkout'),
    reconcile: pick('reconcile'),
    signing: pick('signing'),
  };
}

function misuse(message: string): never {
  throw new ConfigError(message);
}
