import { parseArgs } from 'node:util';
import { startRuntime } from './runtime.ts';

/** `npm start [-- --seed] [--in-memory] [--port N]`: the whole system on this machine. */
const { values } = parseArgs({
  options: {
    seed: { type: 'boolean', default: false },
    'in-memory': { type: 'boolean', default: false },
    port: { type: 'string' },
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

const runtime = await startRuntime({
  port,
  inMemory: values['in-memory'],
  dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT,
  sqsEndpoint: process.env.SQS_ENDPOINT,
  reconcileIntervalSeconds: interval,
  ...(process.env.VISIBILITY_TIMEOUT_SECONDS
    ? { visibilityTimeoutSeconds: Number(process.env.VISIBILITY_TIMEOUT_SECONDS) }
    : {}),
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
if (values.seed) {
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

const token = await runtime.issuer.sign('alice');
console.log(`
Flash-sale checkout running at ${runtime.url}
Endpoints: DynamoDB ${runtime.endpoints.dynamodb}, SQS/SNS ${runtime.endpoints.sqs} (also in .local/runtime.json)
Data: ${runtime.dataLocations.join('; ')}
Reconciler every ${interval}s. Ctrl-C stops everything.

Try it:
  TOKEN=${token}
  curl -s ${runtime.url}/sales/${saleId}
  curl -s -X POST ${runtime.url}/sales/${saleId}/orders \\
    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\
    -H "Idempotency-Key: first-try" -d '{"quantity":1,"paymentToken":"tok_ok"}'
More tokens: npm run token -- --user bob [--admin]
`);
