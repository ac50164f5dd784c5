import { describe, expect, it } from 'vitest';
import { unpaced } from '../../shared/adapters/payment/dynamo-pacer.ts';
import { isTerminal, type Order, type OrderStatus } from '../../shared/domain/order.ts';
import {
  type ChargeOutcome,
  type ChargeState,
  type OrderEvent,
  type OrderStore,
  type PaymentGateway,
  ProcessorRateLimitedError,
  TransientPaymentError,
  type TransitionChange,
} from '../../shared/ports.ts';
import { requestPayment } from '../../shared/usecases/pipeline.ts';
import { type ReconcileOptions, reconcile } from '../../shared/usecases/reconcile.ts';
import { type SettleDeps, settlePayment } from '../../shared/usecases/settle-payment.ts';

const base: Order = {
  orderId: 'o1',
  saleId: 's1',
  userId: 'u1',
  quantity: 1,
  amount: 500,
  currency: 'EUR',
  status: 'PAYMENT_PENDING',
  createdAt: '2026-11-21T12:00:00.000Z',
  updatedAt: '2026-11-21T12:00:00.000Z',
  expiresAt: '2026-11-21T12:10:00.000Z',
  claimed: [{ dispenser: 0, first: 1, count: 1 }],
  releaseTo: 0,
  idempotencyKey: 'k',
  bodyHash: 'h',
  paymentToken: 'tok_ok',
};

/**
 * An in-memory OrderStore with DynamoDB's rules: compare-and-set on status, and a sparse due index
 * that a terminal transition leaves (only awaitRefundCheck puts an ended order back).
 */
function memoryOrders(initial: Order[], interfere?: (order: Order) => void) {
  const rows = new Map(initial.map((o) => [o.orderId, { order: { ...o }, dueAt: 0 as number | undefined }]));
  const changes: TransitionChange[] = [];
  const row = (id: string) => rows.get(id) as { order: Order; dueAt: number | undefined };
  const store: Partial<OrderStore> = {
    get: async (id) => {
      const r = rows.get(id);
      return r ? { ...r.order } : undefined;
    },
    transition: async (o: Order, from: OrderStatus, change: TransitionChange) => {
      const r = row(o.orderId);
      interfere?.(r.order);
      if (r.order.status !== from) return undefined;
      changes.push(change);
      r.order = {
        ...r.order,
        status: change.to,
        ...(change.failureReason ? { failureReason: change.failureReason } : {}),
        ...(change.chargeId ? { chargeId: change.chargeId } : {}),
      };
      r.dueAt = isTerminal(change.to) ? undefined : (change.dueAt ?? r.dueAt);
      return { ...r.order };
    },
    reschedule: async (o: Order, status: OrderStatus, dueAt: number, jobSentAt?: number) => {
      const r = row(o.orderId);
      if (r.order.status !== status) return false;
      r.dueAt = dueAt;
      if (jobSentAt !== undefined) r.order = { ...r.order, jobSentAt };
      return true;
    },
    startPayment: async (o: Order, now: number, deadline: number, dueAt: number) => {
      const r = row(o.orderId);
      if (r.order.status !== 'PAYMENT_PENDING') return undefined;
      if (!r.order.paymentStartedAt) {
        r.order = {
          ...r.order,
          paymentStartedAt: new Date(now).toISOString(),
          expiresAt: new Date(deadline).toISOString(),
        };
        r.dueAt = dueAt;
      }
      return { ...r.order };
    },
    awaitRefundCheck: async (o: Order, status: OrderStatus, dueAt: number) => {
      const r = row(o.orderId);
      if (r.order.status !== status) return false;
      r.dueAt = dueAt;
      return true;
    },
    refundChecked: async (o: Order, status: OrderStatus) => {
      const r = row(o.orderId);
      if (r.order.status === status) r.dueAt = undefined;
    },
    async *due(now: number, pageSize: number) {
      const due = [...rows.values()].filter((r) => r.dueAt !== undefined && r.dueAt <= now);
      for (let i = 0; i < due.length; i += pageSize)
        yield due.slice(i, i + pageSize).map((r) => ({ ...r.order }));
    },
  };
  return {
    store: store as OrderStore,
    changes,
    current: (id = 'o1') => row(id).order,
    dueAt: (id = 'o1') => row(id).dueAt,
  };
}

/** A processor with a ledger: idempotent charges, refunds that can be made to fail. */
function gateway(outcome: ChargeOutcome, initial: Record<string, ChargeState> = {}) {
  const ledger = new Map<string, ChargeState>(Object.entries(initial));
  const calls = { charge: 0, refunds: [] as string[], failRefunds: 0 };
  const g: PaymentGateway = {
    limits: { latencyMs: 0, ratePerSecond: Number.POSITIVE_INFINITY },
    charge: async ({ idempotencyKey }) => {
      calls.charge++;
      const seen = ledger.get(idempotencyKey);
      if (seen?.status === 'approved') return { status: 'approved', chargeId: seen.chargeId };
      ledger.set(
        idempotencyKey,
        outcome.status === 'approved'
          ? { status: 'approved', chargeId: outcome.chargeId, refunded: false }
          : { status: 'declined' },
      );
      return outcome;
    },
    refund: async (key) => {
      if (calls.failRefunds > 0) {
        calls.failRefunds--;
        throw new Error('processor unavailable');
      }
      const seen = ledger.get(key);
      if (seen?.status !== 'approved') throw new Error('nothing to refund');
      calls.refunds.push(key);
      ledger.set(key, { ...seen, refunded: true });
    },
    lookup: async (key) => ledger.get(key) ?? { status: 'none' },
  };
  return { g, calls, ledger };
}

const events = () => {
  const published: OrderEvent[] = [];
  return { published, port: { publish: async (e: OrderEvent) => void published.push(e) } };
};
const noQueue = { enqueueOrder: async () => {}, enqueuePayment: async () => {} };
/** Queues found empty: every job sent more than the lag ago is proven gone. */
const emptyQueues = { isEmpty: async () => true };
const RETRY_SECONDS = 150;

/** settlePayment with an unpaced processor, the default payment clock, and an early receive. */
const settle = (
  deps: Omit<SettleDeps, 'pacer' | 'retrySeconds' | 'paymentGraceMs'>,
  orderId: string,
  now: number,
  delivery = { lastAttempt: false, until: now + 60_000 },
) =>
  settlePayment(
    { pacer: unpaced, retrySeconds: RETRY_SECONDS, paymentGraceMs: 90_000, ...deps },
    orderId,
    now,
    delivery,
  );
const kept = { status: 'approved', chargeId: 'ch_o1', refunded: false } as const;

describe('settlePayment', () => {
  it('confirms an approved charge and announces it', async () => {
    const orders = memoryOrders([base]);
    const { g } = gateway({ status: 'approved', chargeId: 'ch_o1' });
    const e = events();
    await settle({ orders: orders.store, events: e.port, gateway: g }, 'o1', Date.now());
    expect(orders.current().status).toBe('CONFIRMED');
    expect(orders.changes[0]?.chargeId).toBe('ch_o1');
    expect(e.published.map((x) => x.status)).toEqual(['CONFIRMED']);
  });

  it('keeps a committed confirmation when the event cannot be published, and announces on redelivery', async () => {
    const orders = memoryOrders([base]);
    const counted: string[] = [];
    const { g, calls } = gateway({ status: 'approved', chargeId: 'ch_o1' });
    const e = events();
    let snsUp = false;
    const flaky = {
      publish: async (event: OrderEvent) =>
        snsUp ? e.port.publish(event) : Promise.reject(new Error('SNS down')),
    };
    const deps = { orders: orders.store, events: flaky, gateway: g, observe: (x: string) => counted.push(x) };
    await expect(settle(deps, 'o1', Date.now())).rejects.toThrow('SNS down');
    expect(orders.current().status).toBe('CONFIRMED');
    expect(counted).toEqual(['confirmed', 'eventPublishFailed']);
    snsUp = true;
    await settle(deps, 'o1', Date.now());
    expect(e.published.map((x) => [x.orderId, x.status])).toEqual([['o1', 'CONFIRMED']]);
    expect(calls.charge).toBe(1);
  });

  it('refunds a charge that settled after the hold expired', async () => {
    const orders = memoryOrders([base], (o) => {
      o.status = 'EXPIRED';
    });
    const { g, calls } = gateway({ status: 'approved', chargeId: 'ch_o1' });
    await settle({ orders: orders.store, events: events().port, gateway: g }, 'o1', Date.now());
    expect(orders.current().status).toBe('EXPIRED');
    expect(calls.refunds).toEqual(['o1']);
  });

  it('refunds on redelivery when the charge went through but the function died before CONFIRMED and the hold expired', async () => {
    // Path (a): the ledger says approved, the order says EXPIRED; only the ledger knows.
    const orders = memoryOrders([{ ...base, status: 'EXPIRED' }]);
    const { g, calls, ledger } = gateway({ status: 'approved', chargeId: 'ch_o1' }, { o1: kept });
    await settle({ orders: orders.store, events: events().port, gateway: g }, 'o1', Date.now());
    expect(calls.charge).toBe(0);
    expect(calls.refunds).toEqual(['o1']);
    expect(ledger.get('o1')).toMatchObject({ refunded: true });
    // A further redelivery refunds nothing more.
    await settle({ orders: orders.store, events: events().port, gateway: g }, 'o1', Date.now());
    expect(calls.refunds).toEqual(['o1']);
  });

  it('throws when the refund fails, so the queue redelivers, and the redelivery refunds exactly once', async () => {
    // Path (b): expiry races the charge and refund() throws.
    const orders = memoryOrders([base], (o) => {
      o.status = 'EXPIRED';
    });
    const { g, calls, ledger } = gateway({ status: 'approved', chargeId: 'ch_o1' });
    calls.failRefunds = 1;
    const deps = { orders: orders.store, events: events().port, gateway: g };
    await expect(settle(deps, 'o1', Date.now())).rejects.toThrow('processor unavailable');
    expect(ledger.get('o1')).toMatchObject({ status: 'approved', refunded: false });
    await settle(deps, 'o1', Date.now());
    expect(calls.refunds).toEqual(['o1']);
    expect(calls.charge).toBe(1);
  });

  it('does not charge an order that is no longer PAYMENT_PENDING', async () => {
    const orders = memoryOrders([{ ...base, status: 'CANCELLED' }]);
    const { g, calls } = gateway({ status: 'approved', chargeId: 'x' });
    await settle({ orders: orders.store, events: events().port, gateway: g }, 'o1', Date.now());
    expect(calls.charge).toBe(0);
    expect(calls.refunds).toEqual([]);
  });

  it('fails a declined payment with its reason and counts the released units', async () => {
    const orders = memoryOrders([base]);
    const counted: string[] = [];
    const { g } = gateway({ status: 'declined', reason: 'card_declined' });
    await settle(
      { orders: orders.store, events: events().port, gateway: g, observe: (e) => counted.push(e) },
      'o1',
      Date.now(),
    );
    expect(orders.current()).toMatchObject({ status: 'PAYMENT_FAILED', failureReason: 'card_declined' });
    expect(counted).toEqual(['paymentFailed', 'unitsReleased']);
  });
});

describe('requestPayment', () => {
  it('re-sends the payment job for an order already PAYMENT_PENDING (crash between the two steps)', async () => {
    const orders = memoryOrders([base]);
    const sent: string[] = [];
    await requestPayment(
      {
        orders: orders.store,
        queue: { ...noQueue, enqueuePayment: async (o) => void sent.push(o.orderId) },
        paymentDueAfterMs: 90_000,
      },
      'o1',
      Date.now(),
    );
    expect(sent).toEqual(['o1']);
  });

  it('makes the order due for the reconciler one grace after its job, not only at its expiry', async () => {
    const orders = memoryOrders([{ ...base, status: 'RESERVED' }]);
    const now = Date.parse('2026-11-21T12:01:00Z');
    await requestPayment({ orders: orders.store, queue: noQueue, paymentDueAfterMs: 90_000 }, 'o1', now);
    expect(orders.current().status).toBe('PAYMENT_PENDING');
    expect(orders.dueAt()).toBe(now + 90_000);
  });
});

const options = (overrides: Partial<ReconcileOptions> = {}): ReconcileOptions => ({
  limit: 1_000,
  pageSize: 10,
  reenqueueGraceMs: 30_000,
  paymentGraceMs: 90_000,
  timeLeft: () => 60_000,
  queueCountLagMs: 60_000,
  retrySeconds: RETRY_SECONDS,
  ...overrides,
});

describe('reconcile', () => {
  const inHold = Date.parse('2026-11-21T12:05:00Z');
  const late = Date.parse('2026-11-21T12:10:00Z');

  it('re-sends a RESERVED order inside its hold and expires one past it', async () => {
    const reserved = memoryOrders([{ ...base, status: 'RESERVED' }]);
    const sent: string[] = [];
    const deps = {
      orders: reserved.store,
      queue: { ...noQueue, enqueueOrder: async (o: Pick<Order, 'orderId'>) => void sent.push(o.orderId) },
      events: events().port,
      probe: emptyQueues,
      gateway: gateway({ status: 'approved', chargeId: 'x' }).g,
    };
    expect(await reconcile(deps, inHold, options())).toMatchObject({
      examined: 1,
      expired: 0,
      reenqueued: 1,
    });
    expect(sent).toEqual(['o1']);
    expect(await reconcile(deps, late, options())).toMatchObject({ examined: 1, expired: 1, reenqueued: 0 });
    expect(reserved.current().status).toBe('EXPIRED');
    // A RESERVED order was never sent for payment: it leaves the index for good.
    expect(reserved.dueAt()).toBeUndefined();
  });

  it('re-sends the payment job of a PAYMENT_PENDING order whose job was lost', async () => {
    const orders = memoryOrders([base]);
    const sent: string[] = [];
    const deps = {
      orders: orders.store,
      queue: { ...noQueue, enqueuePayment: async (o: Pick<Order, 'orderId'>) => void sent.push(o.orderId) },
      events: events().port,
      probe: emptyQueues,
      gateway: gateway({ status: 'approved', chargeId: 'x' }).g,
    };
    expect(await reconcile(deps, inHold, options())).toMatchObject({ paymentsResent: 1 });
    expect(sent).toEqual(['o1']);
    expect(orders.dueAt()).toBe(inHold + 90_000);
    expect(orders.current().status).toBe('PAYMENT_PENDING');
  });

  it('confirms, rather than expires, an order past its hold whose charge was approved', async () => {
    const orders = memoryOrders([base]);
    const { g, calls } = gateway({ status: 'approved', chargeId: 'ch_o1' }, { o1: kept });
    const e = events();
    const deps = { orders: orders.store, queue: noQueue, probe: emptyQueues, events: e.port, gateway: g };
    expect(await reconcile(deps, late, options())).toMatchObject({ confirmed: 1, expired: 0 });
    expect(orders.current()).toMatchObject({ status: 'CONFIRMED', chargeId: 'ch_o1' });
    expect(calls.refunds).toEqual([]);
    expect(e.published.map((x) => x.status)).toEqual(['CONFIRMED']);
  });

  it('keeps an expired order that was sent for payment due, and refunds a charge that lands after the expiry', async () => {
    const orders = memoryOrders([base]);
    const { g, calls, ledger } = gateway({ status: 'approved', chargeId: 'ch_o1' });
    const deps = {
      orders: orders.store,
      queue: noQueue,
      probe: emptyQueues,
      events: events().port,
      gateway: g,
    };
    expect(await reconcile(deps, late, options())).toMatchObject({ expired: 1 });
    expect(orders.current().status).toBe('EXPIRED');
    expect(orders.dueAt()).toBe(late + 90_000);
    // A charge begun before the expiry settles; its consumer then dies before refunding.
    ledger.set('o1', kept);
    calls.failRefunds = 1;
    const first = await reconcile(deps, late + 90_000, options());
    expect(first).toMatchObject({ examined: 1, failed: 1, refunded: 0 });
    expect(orders.dueAt()).toBe(late + 90_000);
    const second = await reconcile(deps, late + 150_000, options());
    expect(second).toMatchObject({ examined: 1, failed: 0, refunded: 1 });
    expect(calls.refunds).toEqual(['o1']);
    expect(orders.dueAt()).toBeUndefined();
    expect(await reconcile(deps, late + 300_000, options())).toMatchObject({ examined: 0 });
  });

  it('isolates a failing order: the others of the run still settle, and the failure is counted and reported', async () => {
    const ids = ['a', 'b', 'c', 'd'];
    const orders = memoryOrders(ids.map((orderId) => ({ ...base, orderId, status: 'RESERVED' as const })));
    const failedOrders: string[] = [];
    const deps = {
      orders: orders.store,
      queue: {
        ...noQueue,
        enqueueOrder: async (o: Pick<Order, 'orderId'>) => {
          if (o.orderId === 'b') throw new Error('SQS down for b');
        },
      },
      events: events().port,
      probe: emptyQueues,
      gateway: gateway({ status: 'approved', chargeId: 'x' }).g,
      onOrderError: (o: Order) => void failedOrders.push(o.orderId),
    };
    const report = await reconcile(deps, inHold, options());
    expect(report).toMatchObject({ examined: 4, reenqueued: 3, failed: 1 });
    expect(failedOrders).toEqual(['b']);
  });

  it('pages past one page of due orders, and stops taking pages when its time is up', async () => {
    const ids = Array.from({ length: 25 }, (_, i) => `o${i}`);
    const make = () => memoryOrders(ids.map((orderId) => ({ ...base, orderId })));
    const deps = (orders: ReturnType<typeof make>) => ({
      orders: orders.store,
      queue: noQueue,
      events: events().port,
      probe: emptyQueues,
      gateway: gateway({ status: 'approved', chargeId: 'x' }).g,
    });
    const all = make();
    expect(await reconcile(deps(all), late, options({ pageSize: 10 }))).toMatchObject({
      examined: 25,
      expired: 25,
      truncated: false,
    });
    const budget = make();
    let pages = 0;
    const report = await reconcile(
      deps(budget),
      late,
      options({ pageSize: 10, timeLeft: () => (pages++ < 1 ? 1_000 : 0) }),
    );
    expect(report).toMatchObject({ examined: 10, expired: 10, truncated: true });
  });
});

describe('the payment clock (README "money"): it starts at the first charge attempt', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  /** Accepted long ago: its hold from acceptance (base.expiresAt) passed while it waited in our queue. */
  const backlogged: Order = { ...base, createdAt: '2026-11-21T12:00:00.000Z' };

  it('charges and confirms an order that waited in our backlog longer than its hold', async () => {
    const orders = memoryOrders([backlogged]);
    const { g } = gateway({ status: 'approved', chargeId: 'ch_o1' });
    await settle({ orders: orders.store, events: events().port, gateway: g }, 'o1', now);
    expect(orders.current()).toMatchObject({ status: 'CONFIRMED', chargeId: 'ch_o1' });
    expect(orders.current().paymentStartedAt).toBe(new Date(now).toISOString());
  });

  it('never expires, nor sends again, an order whose job may still be in our queue', async () => {
    const orders = memoryOrders([backlogged, { ...backlogged, orderId: 'o2', status: 'RESERVED' }]);
    const sent: string[] = [];
    const deps = {
      orders: orders.store,
      queue: {
        enqueueOrder: async (o: Pick<Order, 'orderId'>) => void sent.push(o.orderId),
        enqueuePayment: async (o: Pick<Order, 'orderId'>) => void sent.push(o.orderId),
      },
      probe: { isEmpty: async () => false },
      events: events().port,
      gateway: gateway({ status: 'approved', chargeId: 'x' }).g,
    };
    expect(await reconcile(deps, now, options())).toMatchObject({
      examined: 2,
      waiting: 2,
      expired: 0,
      reenqueued: 0,
      paymentsResent: 0,
    });
    expect(sent).toEqual([]);
    expect([orders.current('o1').status, orders.current('o2').status]).toEqual([
      'PAYMENT_PENDING',
      'RESERVED',
    ]);
    expect(orders.dueAt('o2')).toBe(now + 30_000);
  });

  it('keeps an order whose queue emptied less than the count lag ago waiting (SQS counts settle late)', async () => {
    const orders = memoryOrders([{ ...base, jobSentAt: now - 10_000 }]);
    const deps = {
      orders: orders.store,
      queue: noQueue,
      probe: emptyQueues,
      events: events().port,
      gateway: gateway({ status: 'approved', chargeId: 'x' }).g,
    };
    expect(await reconcile(deps, now, options())).toMatchObject({ waiting: 1, paymentsResent: 0 });
  });

  it('retries a transient failure through the queue inside the clock, and ends the order on the last receive', async () => {
    const orders = memoryOrders([base]);
    const counted: string[] = [];
    const failing: PaymentGateway = {
      ...gateway({ status: 'approved', chargeId: 'x' }).g,
      charge: async () => {
        throw new TransientPaymentError('processor timeout');
      },
    };
    const deps = {
      orders: orders.store,
      events: events().port,
      gateway: failing,
      observe: (e: string) => counted.push(e),
    };
    await expect(settle(deps, 'o1', now)).rejects.toThrow('processor timeout');
    expect(orders.current().status).toBe('PAYMENT_PENDING');
    expect(orders.current().expiresAt).toBe(new Date(now + RETRY_SECONDS * 1000).toISOString());
    await settle(deps, 'o1', now + 120_000, { lastAttempt: true, until: now + 130_000 });
    expect(orders.current()).toMatchObject({ status: 'PAYMENT_FAILED' });
    expect(counted).toEqual(['paymentFailed', 'unitsReleased']);
    // A charge sent before the end may still land: the ledger is looked at one grace later.
    expect(orders.dueAt()).toBe(now + 120_000 + 90_000);
  });

  it('ends an order whose clock ran out when a delivery comes late, without charging', async () => {
    const orders = memoryOrders([base]);
    const { g, calls } = gateway({ status: 'approved', chargeId: 'x' });
    const started = {
      ...base,
      paymentStartedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 150_000).toISOString(),
    };
    const late = memoryOrders([started]);
    await settle({ orders: late.store, events: events().port, gateway: g }, 'o1', now + 150_000);
    expect(late.current().status).toBe('PAYMENT_FAILED');
    expect(calls.charge).toBe(0);
    expect(orders.current().status).toBe('PAYMENT_PENDING');
  });

  it('lets the reconciler end an order whose clock ran out (its delivery died): PAYMENT_FAILED, or CONFIRMED if paid', async () => {
    const started = {
      paymentStartedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 150_000).toISOString(),
    };
    const orders = memoryOrders([
      { ...base, ...started },
      { ...base, ...started, orderId: 'paid' },
    ]);
    const { g } = gateway(
      { status: 'approved', chargeId: 'x' },
      { paid: { status: 'approved', chargeId: 'ch_paid', refunded: false } },
    );
    const deps = {
      orders: orders.store,
      queue: noQueue,
      probe: { isEmpty: async () => false },
      events: events().port,
      gateway: g,
    };
    // Their jobs may still be in the queue (it is not empty): left to it until the deadline.
    expect(await reconcile(deps, now + 100_000, options())).toMatchObject({ paymentFailed: 0, waiting: 2 });
    expect(orders.dueAt('o1')).toBe(now + 150_000);
    expect(await reconcile(deps, now + 150_000, options())).toMatchObject({ paymentFailed: 1, confirmed: 1 });
    expect(orders.current('o1')).toMatchObject({
      status: 'PAYMENT_FAILED',
      failureReason: 'payment not completed within 150 s',
    });
    expect(orders.current('paid')).toMatchObject({ status: 'CONFIRMED', chargeId: 'ch_paid' });
  });

  it('re-sends the job of a begun payment lost in a crash mid-charge, keeping its deadline', async () => {
    const orders = memoryOrders([{ ...base, jobSentAt: now - 1_000 }]);
    const dying: PaymentGateway = {
      ...gateway({ status: 'approved', chargeId: 'x' }).g,
      charge: async () => {
        throw new Error('process killed');
      },
    };
    await expect(
      settle({ orders: orders.store, events: events().port, gateway: dying }, 'o1', now),
    ).rejects.toThrow('process killed');
    const deadline = now + RETRY_SECONDS * 1000;
    expect(orders.current().expiresAt).toBe(new Date(deadline).toISOString());
    // The reconciler looks one grace after the first attempt, well inside the clock.
    expect(orders.dueAt()).toBe(now + 90_000);
    const sent: string[] = [];
    const { g, calls } = gateway({ status: 'approved', chargeId: 'ch_o1' });
    const deps = {
      orders: orders.store,
      queue: { ...noQueue, enqueuePayment: async (o: Pick<Order, 'orderId'>) => void sent.push(o.orderId) },
      probe: emptyQueues,
      events: events().port,
      gateway: g,
    };
    expect(await reconcile(deps, now + 90_000, options())).toMatchObject({
      paymentsResent: 1,
      paymentFailed: 0,
    });
    expect(sent).toEqual(['o1']);
    expect(orders.dueAt()).toBe(deadline);
    // Sent again, it is not looked at (nor sent) again before its deadline.
    expect(await reconcile(deps, deadline - 1, options())).toMatchObject({ examined: 0, paymentsResent: 0 });
    await settle({ orders: orders.store, events: events().port, gateway: g }, 'o1', now + 91_000);
    expect(orders.current()).toMatchObject({
      status: 'CONFIRMED',
      chargeId: 'ch_o1',
      expiresAt: new Date(deadline).toISOString(),
    });
    expect(calls.charge).toBe(1);
  });

  it('waits out the processor’s 429 and charges: a rate refusal never fails the order', async () => {
    const orders = memoryOrders([base]);
    const { g } = gateway({ status: 'approved', chargeId: 'ch_o1' });
    let refusals = 2;
    const limited: PaymentGateway = {
      ...g,
      charge: async (request) => {
        if (refusals-- > 0) throw new ProcessorRateLimitedError('429', 5);
        return g.charge(request);
      },
    };
    const at = Date.now();
    await settle({ orders: orders.store, events: events().port, gateway: limited }, 'o1', at, {
      lastAttempt: true,
      until: at + 10_000,
    });
    expect(orders.current().status).toBe('CONFIRMED');
  });
});
