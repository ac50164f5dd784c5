import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peekDeadLetters } from '../../shared/adapters/sqs/dead-letters.ts';
import { type Harness, startHarness } from '../support/harness.ts';

/** The processor's limit in this file: 5 charges a second, shared by every poller. */
const RATE = 5;
const RETRY_SECONDS = 4;
const RECONCILE_SECONDS = 2;

let h: Harness;
let admin: string;

beforeAll(async () => {
  h = await startHarness({
    consumers: true,
    reconcileIntervalSeconds: RECONCILE_SECONDS,
    visibilityTimeoutSeconds: 2,
    pollersPerConsumer: 2,
    env: {
      PAYMENT_RATE_LIMIT: String(RATE),
      PAYMENT_LATENCY_MS: '50',
      PAYMENT_RETRY_SECONDS: String(RETRY_SECONDS),
      CHECKOUT_BUDGET_MS: '20000',
    },
  });
  admin = await h.token('admin', true);
});
afterAll(async () => {
  await h?.stop();
});

const status = async (orderId: string) =>
  ((await h.call('GET', `/orders/${orderId}`, { token: admin })).body as { status: string }).status;
const stored = async (orderId: string) =>
  (
    await h.db.send(
      new GetCommand({
        TableName: h.runtime.resources.tableNames.orders,
        Key: { orderId },
        ConsistentRead: true,
      }),
    )
  ).Item as { paymentStartedAt?: string; updatedAt: string; status: string };

describe('the processor’s limits (issue 16 item 2, issue 18 item 3)', () => {
  it('keeps within PAYMENT_RATE_LIMIT in every second, and every order still ends CONFIRMED', async () => {
    const buyers = 30;
    const { saleId } = await h.createSale({ totalStock: buyers, perUserLimit: 1 });
    const started = Date.now();
    // A few buyers at a time: this test is about the charges, not a checkout burst.
    const orders: string[] = [];
    for (let i = 0; i < buyers; i += 5) {
      const replies = await Promise.all(
        Array.from({ length: Math.min(5, buyers - i) }, (_, j) => h.buy(`paced-${i + j}`, saleId)),
      );
      for (const reply of replies) {
        expect(reply.status, JSON.stringify(reply.body)).toBe(202);
        orders.push(reply.body.orderId as string);
      }
    }
    await h.waitFor(
      async () => (await Promise.all(orders.map(status))).every((s) => s === 'CONFIRMED'),
      'every order CONFIRMED',
      60_000,
    );
    // The simulated processor counts every charge request on arrival, refused or not.
    const { Items = [] } = await h.db.send(
      new ScanCommand({
        TableName: h.runtime.resources.tableNames.payments,
        FilterExpression: 'begins_with(idempotencyKey, :rate)',
        ExpressionAttributeValues: { ':rate': 'rate#' },
        ConsistentRead: true,
      }),
    );
    const perSecond = Items.filter(
      (item) => Number(String(item.idempotencyKey).slice(5)) * 1000 >= started - 1000,
    ).map((item) => Number(item.arrivals));
    const total = perSecond.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(buyers);
    expect(Math.max(...perSecond)).toBeLessThanOrEqual(RATE);
    // Unpaced, 2 pollers × 10 concurrent records at ~50 ms would have sent them within a second or two.
    expect(perSecond.length).toBeGreaterThanOrEqual(Math.ceil(buyers / RATE));
    const audit = await h.audit(saleId, { expectSettled: true, acceptedOrderIds: orders });
    expect(audit.violations).toEqual([]);
    expect(audit.charges).toEqual({ approved: buyers, refunded: 0, declined: 0 });
  });

  it('releases a tok_timeout order’s units within PAYMENT_RETRY_SECONDS plus one reconciler period; they sell again', async () => {
    const { saleId } = await h.createSale({ totalStock: 1, perUserLimit: 1 });
    const stuck = await h.buy('hostage-taker', saleId, { paymentToken: 'tok_timeout' });
    expect(stuck.status).toBe(202);
    const stuckId = stuck.body.orderId as string;
    expect((await h.buy('blocked', saleId)).body.error).toMatchObject({ code: 'SOLD_OUT' });

    const ended = await h.waitFor(
      async () => {
        const item = await stored(stuckId);
        return item.status === 'PAYMENT_FAILED' && item;
      },
      'the tok_timeout order to end PAYMENT_FAILED',
      60_000,
    );
    const firstAttempt = Date.parse(String(ended.paymentStartedAt));
    expect(Number.isFinite(firstAttempt)).toBe(true);
    expect(Date.parse(ended.updatedAt) - firstAttempt).toBeLessThanOrEqual(
      (RETRY_SECONDS + RECONCILE_SECONDS) * 1000,
    );

    const again = await h.waitFor(async () => {
      const reply = await h.buy('next-buyer', saleId);
      return reply.status === 202 && reply;
    }, 'the released unit to sell again');
    await h.waitFor(
      async () => (await status(again.body.orderId as string)) === 'CONFIRMED',
      'the resale CONFIRMED',
    );
    const audit = await h.audit(saleId, {
      expectSettled: true,
      acceptedOrderIds: [stuckId, again.body.orderId as string],
    });
    expect(audit.violations).toEqual([]);
    expect(audit.ordersByStatus).toMatchObject({ PAYMENT_FAILED: 1, CONFIRMED: 1 });
    expect(audit.stock).toMatchObject({ available: 0, held: 0, sold: 1 });
    // Ended by the pipeline, not left to the dead-letter queue.
    const dead = await peekDeadLetters(h.sqs, h.runtime.resources.dlqUrls.payments);
    expect(dead.filter((m) => m.Body?.includes(stuckId))).toEqual([]);
  });
});
