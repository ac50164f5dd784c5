import { parseArgs } from 'node:util';
import { startRuntime } from './runtime/index.ts';
import { formatLimits, parseConcurrency, parseQueueWait, parseThrottle } from './runtime/limits.ts';

/**
 * `npm start [-- --seed] [--in-memory] [--port N] [--data-dir DIR] [--concurrency fn=N,…]
 * [--throttle stage=rate/burst,fn=rate/burst] [--queue-wait-ms N] [--dev-issuer] [--base-path /v1]`:
 * the whole system on this machine (under the base path, like the execute-api URL's stage, when given).
 */
const { values } = parseArgs({
  options: {
    seed: { type: 'boolean', default: false },
    'in-memory': { type: 'boolean', default: false },
    port: { type: 'string' },
    'data-dir': { type: 'string' },
    concurrency: { type: 'string' },
    throttle: { type: 'string' },
    'queue-wait-ms': { type: 'string' },
    'dev-issuer': { type: 'boolean' },
    'base-path': { type: 'string' },
  },
});

const port = Number(values.port ?? process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got ${values.port ?? process.env.PORT}`);
  process.exit(2);
}
const interval = Number(process.env.RECONCILE_INTERVAL_SECONDS ?? 60);
if (!Number.isFinite(interval) || interval < 0) {
  console.error('RECONCILE_INTERVAL_SECONDS must be a number of seconds (0 turns the schedule off)');
  process.exit(2);
}

let limits: {
  concurrency?: ReturnType<typeof parseConcurrency>;
  throttle?: ReturnType<typeof parseThrottle>;
  queueWaitMs?: number;
};
try {
  const concurrency = values.concurrency ?? process.env.LOCAL_CONCURRENCY;
  const throttle = values.throttle ?? process.env.LOCAL_THROTTLE;
  const queueWait = values['queue-wait-ms'] ?? process.env.LOCAL_QUEUE_WAIT_MS;
  limits = {
    ...(concurrency ? { concurrency: parseConcurrency(concurrency) } : {}),
    ...(throttle ? { throttle: parseThrottle(throttle) } : {}),
    ...(queueWait !== undefined ? { queueWaitMs: parseQueueWait(queueWait) } : {}),
  };
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}

const runtime = await startRuntime({
  port,
  ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
  inMemory: values['in-memory'],
  ...limits,
  ...(values['dev-issuer'] ? { devIssuer: true } : {}),
  ...(values['base-path'] ? { basePath: values['base-path'] } : {}),
  dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT,
  sqsEndpoint: process.env.SQS_ENDPOINT,
  reconcileIntervalSeconds: interval,
  ...(process.env.VISIBILITY_TIMEOUT_SECONDS
    ? { visibilityTimeoutSeconds: Number(process.env.VISIBILITY_TIMEOUT_SECONDS) }
    : {}),
}).catch((error: unknown) => {
  // A refusal to start (another runtime on this data dir, a missing issuer) is a message, not a stack.
  console.error(`Cannot start: ${(error as Error).message}`);
  process.exit(1);
});

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping (consumers, HTTP, emulators)…`);
  await runtime.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

let saleId = 'demo';
if (values.seed && runtime.devIssuer) {
  const admin = await runtime.issuer.sign('seed-admin', true);
  const now = Date.now();
  const res = await fetch(`${runtime.url}/sales`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      saleId,
      name: 'Demo drop: limited sneakers',
      price: 12900,
      currency: 'EUR',
      totalStock: 100,
      perUserLimit: 2,
      startsAt: new Date(now - 60_000).toISOString(),
      endsAt: new Date(now + 7 * 24 * 3600_000).toISOString(),
      shards: 4,
      // The buyer page at / queues through it: 2 buyers admitted per second.
      waitingRoom: { admitPerSecond: 2 },
    }),
  });
  console.log(
    res.status === 201
      ? 'Seeded sale "demo" (100 units, limit 2 per buyer, waiting room admitting 2/s): open the buyer page at /.'
      : `Sale "demo" already exists (${res.status}).`,
  );
} else {
  saleId = '<saleId>';
}

const token = runtime.devIssuer ? await runtime.issuer.sign('alice') : '<a token from your issuer>';
console.log(`${runtime.notices.map((n) => `\n${n}`).join('')}
Flash-sale checkout running at ${runtime.url}
Endpoints: DynamoDB ${runtime.endpoints.dynamodb}, SQS/SNS ${runtime.endpoints.sqs} (also in ${values['data-dir'] ?? '.local'}/runtime.json)
Data: ${runtime.dataLocations.join('; ')}
Reconciler every ${interval}s. Ctrl-C stops everything.
${formatLimits(runtime.limits)}
  (beyond these: 429 RETRY + Retry-After; change with --concurrency/--throttle/--queue-wait-ms or LOCAL_CONCURRENCY/LOCAL_THROTTLE/LOCAL_QUEUE_WAIT_MS)
Dev issuer: ${runtime.devIssuer ? 'on (GET /.well-known/jwks.json, POST /dev/tokens; loopback Host names and JSON only)' : 'off (external endpoints; JWT_ISSUER/JWKS_URL verify tokens; --dev-issuer turns it on)'}

Try it:
  TOKEN=${token}
  curl -s ${runtime.url}/sales/${saleId}
  curl -s -X POST ${runtime.url}/sales/${saleId}/orders \\
    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\
    -H "Idempotency-Key: first-try" -d '{"quantity":1,"paymentToken":"tok_ok"}'
More tokens: npm run token -- --user bob [--admin]
`);
