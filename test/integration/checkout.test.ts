import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_MAX_IN_FLIGHT } from '../../local/runtime/limits.ts';
import { type Harness, startHarness } from '../support/harness.ts';

let h: Harness;
beforeAll(async () => {
  // Consumers off: these tests look at what the checkout alone writes and sends. They are about
  // exactly-once under concurrency, so the time budget is generous here (a 2-core machine shared
  // with other work can take seconds for a 400-buyer burst); checkout-faults.test.ts covers the
  // default budget under a burst.
  // The checkout keeps the runtime's default in-flight cap: the HTTP front accepts all 400 buyers at
  // once, and 400 handlers started together on two cores would run past the function's own 6 s
  // timeout (answered RETRY while still placing the order). Buyers told RETRY try again, as told.
  h = await startHarness({
    consumers: false,
    env: { CHECKOUT_BUDGET_MS: '20000' },
    concurrency: { placeOrder: LOCAL_MAX_IN_FLIGHT },
  });
});
afterAll(async () => {
  await h?.stop();
});

const messagesFor = async (saleId: string) =>
  (await h.drain(h.runtime.resources.queueUrls.orders)).filter(
    (m) => JSON.parse(m.Body ?? '{}').saleId === saleId,
  );

describe('checkout against DynamoDB Local and the SQS emulator', () => {
  it('sells 100 units over 8 dispensers to exactly 100 of 400 concurrent buyers', async () => {
    const { saleId } = await h.createSale({ totalStock: 100, shards: 8, perUserLimit: 1 });
    // A buyer told RETRY (the concurrency cap, or units still being claimed that could come back)
    // tries again with the same key after Retry-After.
    const buyUntilAnswered = async (userId: string) => {
      for (;;) {
        const reply = await h.buy(userId, saleId);
        if (reply.status !== 429) return reply;
        await new Promise((r) => setTimeout(r, Number(reply.headers.get('retry-after')) * 1000));
      }
    };
    const replies = await Promise.all(Array.from({ length: 400 }, (_, i) => buyUntilAnswered(`crowd-${i}`)));
    const byStatus = new Map<number, number>();
    for (const r of replies) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    expect(Object.fromEntries(byStatus)).toEqual({ 202: 100, 409: 300 });
    expect(
      replies
        .filter((r) => r.status === 409)
        .every((r) => (r.body.error as { code: string }).code === 'SOLD_OUT'),
    ).toBe(true);

    const sale = await h.call('GET', `/sales/${saleId}`);
    expect(sale.body).toMatchObject({ available: 0, status: 'SOLD_OUT' });
    const report = await h.audit(saleId, {
      acceptedOrderIds: replies.filter((r) => r.status === 202).map((r) => r.body.orderId as string),
      expectSoldOut: true,
    });
    expect(report.violations).toEqual([]);
    expect(report.dispensers).toEqual(new Array(8).fill(0));
    expect(report.orders).toBe(100);
    expect(report.ordersByStatus.RESERVED).toBe(100);
    const messages = await messagesFor(saleId);
    expect(messages).toHaveLength(100);
    expect(new Set(messages.map((m) => m.Attributes?.MessageDeduplicationId))).toEqual(
      new Set(replies.filter((r) => r.status === 202).map((r) => r.body.orderId)),
    );
  });

  it('takes one order from several dispensers when no single one has enough', async () => {
    const { saleId } = await h.createSale({ totalStock: 4, shards: 4, perUserLimit: 4 });
    const reply = await h.buy('spread', saleId, { quantity: 2 });
    expect(reply.status).toBe(202);
    expect((await h.call('GET', `/sales/${saleId}`)).body.available).toBe(2);
    const again = await h.buy('spread-2', saleId, { quantity: 2 });
    expect(again.status).toBe(202);
    const third = await h.buy('spread-3', saleId, { quantity: 1 });
    expect(third.status).toBe(409);
    expect(third.body.error).toMatchObject({ code: 'SOLD_OUT' });
    expect((await h.audit(saleId, { expectSoldOut: true })).violations).toEqual([]);
  });

  it('refuses SOLD_OUT only when the whole sale holds less than the quantity', async () => {
    const { saleId } = await h.createSale({ totalStock: 3, shards: 3, perUserLimit: 3 });
    expect((await h.buy('big', saleId, { quantity: 3 })).status).toBe(202);
    const none = await h.buy('late', saleId, { quantity: 1 });
    expect(none.body.error).toMatchObject({ code: 'SOLD_OUT' });
  });

  it('enforces the per-user limit of 2, sequentially and concurrently', async () => {
    const { saleId } = await h.createSale({ totalStock: 50, shards: 4, perUserLimit: 2 });
    expect((await h.buy('limited', saleId, { key: 'a' })).status).toBe(202);
    expect((await h.buy('limited', saleId, { key: 'b' })).status).toBe(202);
    const third = await h.buy('limited', saleId, { key: 'c' });
    expect(third.status).toBe(409);
    expect(third.body.error).toMatchObject({ code: 'PURCHASE_LIMIT_EXCEEDED' });

    const concurrent = await Promise.all(
      Array.from({ length: 10 }, (_, i) => h.buy('eager', saleId, { key: `e${i}` })),
    );
    expect(concurrent.filter((r) => r.status === 202)).toHaveLength(2);
    expect(
      concurrent
        .filter((r) => r.status !== 202)
        .every((r) => (r.body.error as { code: string }).code === 'PURCHASE_LIMIT_EXCEEDED'),
    ).toBe(true);
    const report = await h.audit(saleId);
    expect(report.violations).toEqual([]);
    expect(report.stock).toMatchObject({ available: 46, held: 4 });
  });

  it('turns 20 concurrent requests with one key into one order and one decrement', async () => {
    const { saleId } = await h.createSale({ totalStock: 10, shards: 2 });
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => h.buy('retrier', saleId, { key: 'same-key' })),
    );
    expect(replies.every((r) => r.status === 200 || r.status === 202)).toBe(true);
    expect(replies.filter((r) => r.status === 202)).toHaveLength(1);
    expect(new Set(replies.map((r) => r.body.orderId)).size).toBe(1);
    expect(replies[0]?.headers.get('location')).toBe(`/orders/${replies[0]?.body.orderId}`);
    const report = await h.audit(saleId);
    expect(report).toMatchObject({ orders: 1, stock: { available: 9, held: 1 } });
    expect(await messagesFor(saleId)).toHaveLength(1);

    const other = await h.buy('retrier', saleId, { key: 'same-key', quantity: 2 });
    expect(other.status).toBe(422);
    expect(other.body.error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect((await h.audit(saleId)).stock.available).toBe(9);
  });

  it('replays an accepted order after the sale sold out', async () => {
    const { saleId } = await h.createSale({ totalStock: 1, shards: 1 });
    const first = await h.buy('lucky', saleId, { key: 'k1' });
    expect(first.status).toBe(202);
    expect((await h.buy('unlucky', saleId)).status).toBe(409);
    const retry = await h.buy('lucky', saleId, { key: 'k1' });
    expect(retry.status).toBe(200);
    expect(retry.body.orderId).toBe(first.body.orderId);
  });

  it('refuses SALE_NOT_ACTIVE before startsAt and after endsAt, writing nothing', async () => {
    const now = Date.now();
    const early = await h.createSale({
      startsAt: new Date(now + 3_600_000).toISOString(),
      endsAt: new Date(now + 7_200_000).toISOString(),
    });
    // A window already over is refused at creation, so this one ends a moment after it is created.
    const late = await h.createSale({
      startsAt: new Date(now - 7_200_000).toISOString(),
      endsAt: new Date(now + 1_000).toISOString(),
    });
    await h.waitFor(async () => Date.now() > now + 1_100, 'the sale window to close');
    for (const sale of [early, late]) {
      const reply = await h.buy('too-soon-or-late', sale.saleId);
      expect(reply.status).toBe(409);
      expect(reply.body.error).toMatchObject({ code: 'SALE_NOT_ACTIVE' });
      expect((await h.audit(sale.saleId)).orders).toBe(0);
    }
    expect((await h.call('GET', `/sales/${early.saleId}`)).body.status).toBe('SCHEDULED');
    expect((await h.call('GET', `/sales/${late.saleId}`)).body.status).toBe('ENDED');
  });
});
