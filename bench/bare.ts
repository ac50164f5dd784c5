/**
 * The benchmark's baseline: a bare client doing what one checkout does to the emulators — one
 * conditional take on a random dispenser (DynamoStockStore.take), the claim TransactWriteItems
 * through DynamoOrderStore.claim (unit item, order put-if-absent, buyer counter +1 within the
 * limit) and one SendMessage to orders.fifo through SqsOrderQueue — with no HTTP, authorizer,
 * middleware or validation in front.
 */

import type { RequestSample } from '../load/lib/stats.ts';
import { documentClient } from '../shared/adapters/dynamo/client.ts';
import { DynamoOrderStore } from '../shared/adapters/dynamo/order-store.ts';
import { DynamoStockStore } from '../shared/adapters/dynamo/stock-store.ts';
import { SqsOrderQueue, sqsClient } from '../shared/adapters/sqs/order-queue.ts';
import { bodyHashOf, type Order, orderIdFor, releaseDispenserOf } from '../shared/domain/order.ts';

export interface BareJob {
  region: string;
  endpoints: { dynamodb: string; sqs: string };
  tables: { sales: string; orders: string; claims: string };
  ordersQueueUrl: string;
  saleId: string;
  shards: number;
  perUserLimit: number;
  price: number;
  currency: string;
  holdSeconds: number;
  userPrefix: string;
  buyers: number;
  concurrency: number;
  maxDurationMs: number;
  /** Same bound as the checkout's CHECKOUT_MAX_ATTEMPTS default. */
  maxAttempts: number;
}

export interface BareResult {
  startedAt: number;
  endedAt: number;
  samples: RequestSample[];
  contention: number;
}

export async function runBare(job: BareJob): Promise<BareResult> {
  const config = { region: job.region, endpoints: job.endpoints };
  const db = documentClient(config);
  const orders = new DynamoOrderStore(
    db,
    job.tables.orders,
    () => job.tables.sales,
    () => job.tables.claims,
  );
  const stock = new DynamoStockStore(db, job.tables.sales, job.tables.claims);
  const sqs = sqsClient(config);
  const queue = new SqsOrderQueue(sqs, { orders: job.ordersQueueUrl });
  const body = { quantity: 1, paymentToken: 'tok_ok' };
  const bodyHash = bodyHashOf(body);
  const samples: RequestSample[] = [];
  let contention = 0;
  let next = 0;
  const startedAt = Date.now();
  const deadline = startedAt + job.maxDurationMs;

  const one = async (i: number): Promise<RequestSample> => {
    const t0 = performance.now();
    const userId = `${job.userPrefix}-${i}`;
    const idempotencyKey = `bench-${i}`;
    for (let attempt = 1; attempt <= job.maxAttempts; attempt++) {
      const now = Date.now();
      const at = new Date(now).toISOString();
      // A random dispenser, as the checkout's planner picks one among those believed to hold stock.
      const dispenser = Math.floor(Math.random() * job.shards);
      const take = await stock.take(job.saleId, dispenser, 1, now);
      if (!take.ok) {
        if (take.kind === 'busy') contention++;
        continue;
      }
      const orderId = orderIdFor(userId, job.saleId, idempotencyKey);
      const order: Order = {
        orderId,
        saleId: job.saleId,
        userId,
        quantity: 1,
        amount: job.price,
        currency: job.currency,
        status: 'RESERVED',
        createdAt: at,
        updatedAt: at,
        expiresAt: new Date(now + job.holdSeconds * 1000).toISOString(),
        claimed: [take.range],
        releaseTo: releaseDispenserOf(orderId, job.shards),
        idempotencyKey,
        bodyHash,
        paymentToken: body.paymentToken,
      };
      const result = await orders.claim({
        order,
        perUserLimit: job.perUserLimit,
        dueAt: now + 30_000,
        attempt,
      });
      if (result.ok) {
        await queue.enqueueOrder(order);
        return { end: Date.now(), ms: performance.now() - t0, name: 'reserve', status: 202 };
      }
      if (result.kind !== 'busy' && result.kind !== 'unknown')
        return {
          end: Date.now(),
          ms: performance.now() - t0,
          name: 'reserve',
          status: 409,
          code: result.kind,
        };
      contention++;
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(250, 10 * 2 ** attempt)));
    }
    return { end: Date.now(), ms: performance.now() - t0, name: 'reserve', status: 429, code: 'RETRY' };
  };

  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= job.buyers || Date.now() >= deadline) return;
      try {
        samples.push(await one(i));
      } catch (error) {
        samples.push({ end: Date.now(), ms: 0, name: 'reserve', status: 0, code: (error as Error).name });
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  db.destroy();
  sqs.destroy();
  return { startedAt, endedAt: Math.max(startedAt, ...samples.map((s) => s.end)), samples, contention };
}
