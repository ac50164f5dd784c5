import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { apiClient, type ReplyHeaders } from '../../load/lib/api-client.ts';
import {
  localQueueArn,
  type Runtime,
  type RuntimeOptions,
  sqsEventOf,
  startRuntime,
} from '../../local/runtime/index.ts';
import { emulatorCredentials } from '../../shared/adapters/aws.ts';
import { documentClient } from '../../shared/adapters/dynamo/client.ts';
import { DynamoOrderStore } from '../../shared/adapters/dynamo/order-store.ts';
import { type AuditOptions, auditSale, formatReport } from '../../shared/audit/invariants.ts';
import { paymentDeadline } from '../../shared/domain/order.ts';
import {
  type FunctionKey,
  functionSpecs,
  PAYMENT_GRACE_MS,
  PAYMENT_RETRY_SECONDS_DEFAULT,
} from '../../shared/wiring.ts';

/**
 * Functional tests see the handlers' own answers under concurrency, not the local runtime's
 * refusals: its concurrency limits are lifted unless a test sets them (the limits have their own
 * tests in local-runtime.test.ts).
 */
const UNLIMITED = Object.fromEntries(Object.keys(functionSpecs).map((fn) => [fn, 100_000])) as Record<
  FunctionKey,
  number
>;

export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: ReplyHeaders;
}

export interface Harness {
  runtime: Runtime;
  token(userId: string, admin?: boolean): Promise<string>;
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> },
  ): Promise<Reply<T>>;
  createSale(overrides?: Record<string, unknown>): Promise<Record<string, unknown> & { saleId: string }>;
  buy(
    userId: string,
    saleId: string,
    options?: { key?: string; quantity?: number; paymentToken?: string },
  ): Promise<Reply>;
  audit(
    saleId: string,
    options?: AuditOptions,
  ): Promise<Awaited<ReturnType<typeof auditSale>> & { text: string }>;
  /** Receives (and deletes) every message now on a queue. */
  drain(queueUrl: string): Promise<Message[]>;
  waitFor<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs?: number): Promise<T>;
  /** Receives — without deleting — the message for one order: the test plays the consumer. */
  receiveFor(queueUrl: string, orderId: string): Promise<Message>;
  /** Hands messages to a consumer as the Lambda SQS event source would. */
  deliver(consumer: 'processOrder' | 'processPayment', messages: Message[]): Promise<SQSBatchResponse>;
  /**
   * A consumer took the order's payment job and began the charge (the payment clock starts, as
   * settlePayment starts it), then died. Returns when the clock started.
   */
  beginPayment(orderId: string): Promise<number>;
  db: ReturnType<typeof documentClient>;
  sqs: SQSClient;
  stop(): Promise<void>;
}

let saleCounter = 0;

/** Starts the real local runtime (DynamoDB Local + fauxqs + handlers) on free ports, in a temp dir. */
export async function startHarness(options: RuntimeOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'flash-test-'));
  const runtime = await startRuntime({
    port: 0,
    dataDir: dir,
    inMemory: true,
    consumers: false,
    reconcileIntervalSeconds: 0,
    visibilityTimeoutSeconds: 1,
    pollersPerConsumer: 2,
    ...options,
    ...(options.env?.PAYMENT_GATEWAY === 'stripe'
      ? // The buyer page starts with every other function and needs a publishable key under
        // Stripe; a test that never opens the page need not name one (the page's own tests do).
        { env: { STRIPE_PUBLISHABLE_KEY: 'pk_test_harness', ...options.env } }
      : {}),
    concurrency: { ...UNLIMITED, ...options.concurrency },
  });
  const db = documentClient({
    region: runtime.endpoints.region,
    endpoints: { dynamodb: runtime.endpoints.dynamodb },
  });
  const sqs = new SQSClient({
    region: runtime.endpoints.region,
    endpoint: runtime.endpoints.sqs,
    credentials: emulatorCredentials(),
  });
  const tokens = new Map<string, string>();
  const token = async (userId: string, admin = false) => {
    const key = `${userId}|${admin}`;
    let t = tokens.get(key);
    if (!t) {
      t = await runtime.issuer.sign(userId, admin);
      tokens.set(key, t);
    }
    return t;
  };
  // The API's own typed client, without its 429 retries: tests see every answer as given.
  const api = apiClient(runtime.url, { retries429: 0, timeoutMs: 120_000 });
  const call: Harness['call'] = async (method, path, opts = {}) => {
    const reply = await api(method, path, opts);
    return { status: reply.status, body: (reply.body ?? {}) as never, headers: reply.headers };
  };
  const harness: Harness = {
    runtime,
    token,
    call,
    db,
    sqs,
    async createSale(overrides = {}) {
      const now = Date.now();
      const res = await call('POST', '/sales', {
        token: await token('admin', true),
        body: {
          saleId: `sale-${process.pid}-${++saleCounter}-${now}`,
          name: 'Test drop',
          price: 1500,
          currency: 'EUR',
          totalStock: 10,
          // A limit above the stock is refused: small sales get a limit of their stock.
          perUserLimit: Math.min(2, Number(overrides.totalStock ?? 10)),
          startsAt: new Date(now - 60_000).toISOString(),
          endsAt: new Date(now + 3_600_000).toISOString(),
          ...overrides,
        },
      });
      if (res.status !== 201) throw new Error(`createSale: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as Record<string, unknown> & { saleId: string };
    },
    async buy(userId, saleId, o = {}) {
      return call('POST', `/sales/${saleId}/orders`, {
        token: await token(userId),
        headers: { 'idempotency-key': o.key ?? `k-${userId}` },
        body: { quantity: o.quantity ?? 1, paymentToken: o.paymentToken ?? 'tok_ok' },
      });
    },
    async audit(saleId, auditOptions = {}) {
      const report = await auditSale(db, runtime.resources.tableNames, saleId, auditOptions);
      return { ...report, text: formatReport(report) };
    },
    async drain(queueUrl) {
      const all: Message[] = [];
      for (let empty = 0; empty < 2; ) {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            MessageSystemAttributeNames: ['All'],
          }),
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) {
          empty++;
          continue;
        }
        empty = 0;
        all.push(...messages);
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
          }),
        );
      }
      return all;
    },
    async waitFor(probe, what, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await probe();
        if (value !== undefined && value !== false) return value as never;
        if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    receiveFor(queueUrl, orderId) {
      return harness.waitFor(async () => {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
          }),
        );
        return (out.Messages ?? []).find((m) => (m.Body ?? '').includes(orderId));
      }, `a message for ${orderId}`);
    },
    async deliver(consumer, messages) {
      const queue = consumer === 'processOrder' ? 'orders' : 'payments';
      return (await runtime.invoke(consumer, sqsEventOf(messages, localQueueArn(queue)))) as SQSBatchResponse;
    },
    async beginPayment(orderId) {
      const tables = runtime.resources.tableNames;
      const store = new DynamoOrderStore(
        db,
        tables.orders,
        () => tables.sales,
        () => tables.claims,
      );
      const current = await store.get(orderId, true);
      if (!current) throw new Error(`no order ${orderId}`);
      const started = Date.now();
      const deadline = paymentDeadline(started, PAYMENT_RETRY_SECONDS_DEFAULT);
      await store.startPayment(current, started, deadline, Math.min(deadline, started + PAYMENT_GRACE_MS));
      return started;
    },
    async stop() {
      await runtime.stop();
      db.destroy();
      sqs.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}
