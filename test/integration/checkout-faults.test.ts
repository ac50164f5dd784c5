import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorCredentials } from '../../shared/adapters/aws.ts';
import { DynamoOrderStore } from '../../shared/adapters/dynamo/order-store.ts';
import { DynamoSaleStore } from '../../shared/adapters/dynamo/sale-store.ts';
import { DynamoStockStore } from '../../shared/adapters/dynamo/stock-store.ts';
import type { Order } from '../../shared/domain/order.ts';
import { type CheckoutDeps, placeOrder, SaleCatalog } from '../../shared/usecases/checkout.ts';
import { type Harness, startHarness } from '../support/harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ consumers: false });
});
afterAll(async () => {
  await h?.stop();
});

const tables = () => h.runtime.resources.tableNames;

/**
 * A second checkout "instance" in this process: the same use case over real adapters on its own
 * DynamoDB client (so faults can be injected into it), with its own cold sale catalog.
 */
function instance(options: { loseFirstClaimAnswer?: boolean } = {}) {
  const client = new DynamoDBClient({
    region: h.runtime.endpoints.region,
    endpoint: h.runtime.endpoints.dynamodb,
    credentials: emulatorCredentials(),
  });
  const db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const sent = { claims: 0, lost: 0 };
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const claim = context.commandName?.startsWith('TransactWrite') ?? false;
      if (claim) sent.claims++;
      const out = await next(args);
      if (claim && options.loseFirstClaimAnswer && sent.lost === 0) {
        // DynamoDB committed it; the answer is lost on the way back, like a reset socket.
        sent.lost++;
        throw Object.assign(new Error('socket hang up'), { name: 'Error', code: 'ECONNRESET' });
      }
      return out;
    },
    { step: 'initialize', name: 'loseClaimAnswer' },
  );
  const sales = new DynamoSaleStore(db, tables().sales);
  const enqueued: string[] = [];
  const deps: CheckoutDeps = {
    sales,
    stock: new DynamoStockStore(db, tables().sales, tables().claims),
    orders: new DynamoOrderStore(
      db,
      tables().orders,
      () => tables().sales,
      () => tables().claims,
    ),
    queue: { enqueueOrder: async (o) => void enqueued.push(o.orderId), enqueuePayment: async () => {} },
    catalog: new SaleCatalog(sales, 3_000),
    maxAttempts: 8,
    soldOutMemoMs: 1_000,
    budgetMs: 10_000,
    reenqueueGraceMs: 30_000,
  };
  const buy = (userId: string, saleId: string, quantity = 1, key = `k-${userId}`) =>
    placeOrder(deps, {
      userId,
      saleId,
      idempotencyKey: key,
      body: { quantity, paymentToken: 'tok_ok' },
      now: Date.now(),
    });
  return { deps, buy, sent, enqueued, stock: deps.stock, destroy: () => db.destroy() };
}

const tally = (statuses: number[]) =>
  Object.fromEntries([...new Set(statuses)].sort().map((s) => [s, statuses.filter((x) => x === s).length]));

describe('checkout faults against DynamoDB Local', () => {
  it('gives numbers taken by a checkout that crashed before its claim back after the grace, and they sell', async () => {
    const { saleId } = await h.createSale({ totalStock: 2, shards: 1 });
    const crashed = instance();
    // The crash: two numbers taken, never claimed.
    const taken = await crashed.stock.take(saleId, 0, 2, Date.now());
    expect(taken).toMatchObject({ ok: true, range: { dispenser: 0, first: 1, count: 2 } });
    // Numbers in flight could come back: RETRY, not SOLD_OUT.
    const refused = await h.buy('too-early', saleId);
    expect(refused.body.error).toMatchObject({ code: 'RETRY' });
    const before = await h.audit(saleId, { allowInFlight: true });
    expect(before.violations).toEqual([]);
    expect(before.stock).toMatchObject({ available: 0, held: 0, inFlight: 2 });
    expect((await h.audit(saleId)).violations).toEqual([expect.stringMatching(/2 numbers taken/)]);

    const first = (await h.runtime.runReconciler()) as { sweep: { returned: number } };
    expect(first.sweep.returned).toBe(0);
    // The first run noted what was issued by now; the grace counts from then.
    const start = Date.now();
    // Within the grace nothing goes back: a claim could still be in flight.
    const within = (await h.runtime.runReconciler(new Date(start + 10_000))) as {
      sweep: { returned: number };
    };
    expect(within.sweep.returned).toBe(0);
    const after = (await h.runtime.runReconciler(new Date(start + 31_000))) as {
      sweep: { returned: number };
    };
    expect(after.sweep.returned).toBe(2);
    // Checked once: a later run returns nothing more.
    const again = (await h.runtime.runReconciler(new Date(start + 62_000))) as {
      sweep: { returned: number };
    };
    expect(again.sweep.returned).toBe(0);

    const sold = await h.waitFor(async () => {
      const reply = await h.buy('after-sweep', saleId, { quantity: 2 });
      return reply.status === 202 && reply;
    }, 'the swept numbers to sell');
    expect(sold.status).toBe(202);
    const report = await h.audit(saleId, {
      expectSoldOut: true,
      acceptedOrderIds: [sold.body.orderId as string],
    });
    expect(report.violations).toEqual([]);
    expect(report.units).toEqual({ claimed: 2, returned: 2 });
    crashed.destroy();
  });

  it('answers RETRY, not SOLD_OUT, while a number is in flight; the right answer once it is returned or claimed', async () => {
    const { saleId } = await h.createSale({ totalStock: 2, shards: 1 });
    const other = instance();
    const taken = await other.stock.take(saleId, 0, 1, Date.now());
    if (!taken.ok) throw new Error('the other checkout took nothing');
    const first = await h.buy('in-flight-first', saleId);
    expect(first.status).toBe(202);
    const refused = await h.buy('in-flight-second', saleId);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'RETRY' });
    expect(refused.headers.get('retry-after')).toBe('3');
    // The other checkout gives its number back: the next buyer gets it (once the 1 s memo lapses).
    expect(await other.stock.giveBack(saleId, [taken.range])).toBe(1);
    const second = await h.waitFor(async () => {
      const reply = await h.buy('in-flight-second', saleId);
      return reply.status !== 429 && reply;
    }, 'the returned number to sell');
    expect(second.status).toBe(202);
    // Every number is now claimed or returned: the sale is truly sold out.
    const last = await h.waitFor(async () => {
      const reply = await h.buy('in-flight-third', saleId);
      return reply.status !== 429 && reply;
    }, 'a final answer');
    expect(last.body.error).toMatchObject({ code: 'SOLD_OUT' });
    const report = await h.audit(saleId, {
      expectSoldOut: true,
      acceptedOrderIds: [first, second].map((r) => r.body.orderId as string),
    });
    expect(report.violations).toEqual([]);
    expect(report.units).toEqual({ claimed: 2, returned: 1 });
    other.destroy();
  });

  it('gives back a number abandoned between take and claim within seconds, not at the sweep’s grace', async () => {
    const { saleId } = await h.createSale({ totalStock: 1, shards: 1 });
    const crashed = instance();
    expect(await crashed.stock.take(saleId, 0, 1, Date.now())).toMatchObject({ ok: true });
    const started = Date.now();
    const sold = await h.waitFor(
      async () => {
        const reply = await h.buy('patient', saleId);
        if (reply.status === 429) await new Promise((r) => setTimeout(r, 1_000));
        return reply.status !== 429 && reply;
      },
      'the abandoned number to sell',
      20_000,
    );
    expect(sold.status).toBe(202);
    // A checkout budget (3 s) and a give-back's second, then the next retry: well under the
    // sweep's 30 s grace, and no reconciler ran.
    expect(Date.now() - started).toBeLessThan(15_000);
    const report = await h.audit(saleId, {
      expectSoldOut: true,
      acceptedOrderIds: [sold.body.orderId as string],
    });
    expect(report.violations).toEqual([]);
    expect(report.units).toEqual({ claimed: 1, returned: 1 });
    crashed.destroy();
  });

  it('resells units released by a cancel and by an expiry, never more than the stock', async () => {
    const { saleId } = await h.createSale({ totalStock: 1, shards: 1, holdSeconds: 450 });
    const buyer = await h.token('canceller');
    const first = await h.buy('canceller', saleId);
    expect(first.status).toBe(202);
    expect((await h.buy('blocked', saleId)).body.error).toMatchObject({ code: 'SOLD_OUT' });
    const cancelled = await h.call('DELETE', `/orders/${first.body.orderId}`, { token: buyer });
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED' });

    const second = await h.waitFor(async () => {
      const reply = await h.buy('second', saleId);
      return reply.status === 202 && reply;
    }, 'the cancelled unit to sell again');
    expect((await h.buy('third', saleId)).body.error).toMatchObject({ code: 'SOLD_OUT' });

    // The second buyer's job is lost and its hold passes: the reconciler, finding the queue empty,
    // expires it and the unit sells again.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await h.drain(h.runtime.resources.queueUrls.orders);
    const expired = (await h.runtime.runReconciler(new Date(Date.now() + 451_000))) as { expired: number };
    expect(expired.expired).toBeGreaterThanOrEqual(1);
    const last = await h.waitFor(async () => {
      const reply = await h.buy('last', saleId);
      return reply.status === 202 && reply;
    }, 'the expired unit to sell again');
    const report = await h.audit(saleId, {
      acceptedOrderIds: [first, second, last].map((r) => r.body.orderId as string),
    });
    expect(report.violations).toEqual([]);
    expect(report.stock).toMatchObject({ available: 0, held: 1, inFlight: 0 });
    expect(report.ordersByStatus).toMatchObject({ CANCELLED: 1, EXPIRED: 1, RESERVED: 1 });
    expect(report.units).toEqual({ claimed: 3, returned: 0 });
  });

  it('answers 202 once when a committed claim’s answer is lost, never taking or claiming twice', async () => {
    const { saleId } = await h.createSale({ totalStock: 5, shards: 2 });
    const lossy = instance({ loseFirstClaimAnswer: true });
    const { order, replayed } = await lossy.buy('lost-answer', saleId);
    expect(replayed).toBe(false);
    expect(lossy.sent.lost).toBe(1);
    expect(lossy.enqueued).toEqual([order.orderId]);
    // The retry of the buyer (same key) gets the same order back.
    const retry = await lossy.buy('lost-answer', saleId);
    expect(retry).toMatchObject({ replayed: true, order: { orderId: order.orderId } });
    const report = await h.audit(saleId, { acceptedOrderIds: [order.orderId] });
    expect(report.violations).toEqual([]);
    expect(report.orders).toBe(1);
    expect(report.stock).toMatchObject({ available: 4, held: 1, inFlight: 0 });
    expect(report.units.claimed).toBe(1);
    lossy.destroy();
  });

  it('a cold instance facing 3 units on 1 of 50 dispensers sells them to 3 of 60 concurrent buyers, no RETRY but while numbers settle', async () => {
    const { saleId } = await h.createSale({ totalStock: 50, shards: 50, perUserLimit: 3 });
    const warm = instance();
    const big = await warm.buy('holder', saleId, 3);
    for (let i = 0; i < 47; i++) await warm.buy(`filler-${i}`, saleId);
    await expect(warm.buy('none-left', saleId)).rejects.toMatchObject({ code: 'SOLD_OUT' });
    // The 3-unit order is cancelled: its units go back on one dispenser (its releaseTo).
    const owner = await h.token('holder');
    expect((await h.call('DELETE', `/orders/${big.order.orderId}`, { token: owner })).status).toBe(200);
    const before = await h.audit(saleId);
    expect(before.dispensers.filter((d) => d > 0)).toEqual([3]);
    expect(before.dispensers[(big.order as Order).releaseTo]).toBe(3);

    const cold = instance();
    const outcomes = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        cold.buy(`cold-${i}`, saleId).then(
          () => '202',
          (e: { code?: string; message?: string }) =>
            e.code === 'RETRY' && /may come back/.test(e.message ?? '') ? 'settling' : String(e.code),
        ),
      ),
    );
    // The 57 refused are SOLD_OUT, or RETRY while the 3 winners' numbers were still being claimed;
    // never a RETRY for contention or the budget.
    const refused = tally(outcomes as never) as Record<string, number>;
    expect(refused['202']).toBe(3);
    expect((refused.SOLD_OUT ?? 0) + (refused.settling ?? 0)).toBe(57);
    const after = await h.waitFor(
      () => cold.buy('after-the-crowd', saleId).catch((e: { code?: string }) => e.code !== 'RETRY' && e.code),
      'a final answer',
    );
    expect(after).toBe('SOLD_OUT');
    const report = await h.audit(saleId, { expectSoldOut: true });
    expect(report.violations).toEqual([]);
    warm.destroy();
    cold.destroy();
  });
});
