import { describe, expect, it } from 'vitest';
import type { Order, OrderStatus } from '../../shared/domain/order.ts';
import type {
  ChargeOutcome,
  OrderEvent,
  OrderStore,
  PaymentGateway,
  TransitionChange,
} from '../../shared/ports.ts';
import { reconcile, requestPayment, settlePayment } from '../../shared/usecases/pipeline.ts';

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

/** An in-memory OrderStore with the same compare-and-set rule as DynamoDB's conditions. */
function memoryOrders(initial: Order, interfere?: (order: Order) => void) {
  let current = { ...initial };
  const changes: TransitionChange[] = [];
  const store = {
    get: async () => ({ ...current }),
    transition: async (_o: Order, from: OrderStatus, change: TransitionChange) => {
      interfere?.(current);
      if (current.status !== from) return undefined;
      changes.push(change);
      current = {
        ...current,
        status: change.to,
        ...(change.failureReason ? { failureReason: change.failureReason } : {}),
      };
      return { ...current };
    },
    reschedule: async (_o: Order, status: OrderStatus) => current.status === status,
    due: async () => [{ ...current }],
  } as unknown as OrderStore;
  return { store, changes, current: () => current, set: (o: Partial<Order>) => Object.assign(current, o) };
}

function gateway(outcome: ChargeOutcome) {
  const calls = { charge: 0, refunds: [] as string[] };
  const g: PaymentGateway = {
    charge: async () => {
      calls.charge++;
      return outcome;
    },
    refund: async (key) => {
      calls.refunds.push(key);
    },
  };
  return { g, calls };
}

const events = () => {
  const published: OrderEvent[] = [];
  return { published, port: { publish: async (e: OrderEvent) => void published.push(e) } };
};
const noQueue = { enqueueOrder: async () => {}, enqueuePayment: async () => {} };

describe('settlePayment', () => {
  it('confirms an approved charge and announces it', async () => {
    const orders = memoryOrders(base);
    const { g } = gateway({ status: 'approved', chargeId: 'ch_o1' });
    const e = events();
    await settlePayment({ orders: orders.store, events: e.port, gateway: g }, 'o1', Date.now());
    expect(orders.current().status).toBe('CONFIRMED');
    expect(orders.changes[0]?.chargeId).toBe('ch_o1');
    expect(e.published.map((x) => x.status)).toEqual(['CONFIRMED']);
  });

  it('keeps a committed confirmation when the event cannot be published, and announces on redelivery', async () => {
    const orders = memoryOrders(base);
    const counted: string[] = [];
    const { g, calls } = gateway({ status: 'approved', chargeId: 'ch_o1' });
    const e = events();
    let snsUp = false;
    const flaky = {
      publish: async (event: OrderEvent) =>
        snsUp ? e.port.publish(event) : Promise.reject(new Error('SNS down')),
    };
    const deps = { orders: orders.store, events: flaky, gateway: g, observe: (x: string) => counted.push(x) };
    await expect(settlePayment(deps, 'o1', Date.now())).rejects.toThrow('SNS down');
    expect(orders.current().status).toBe('CONFIRMED');
    expect(counted).toEqual(['confirmed', 'eventPublishFailed']);
    snsUp = true;
    await settlePayment(deps, 'o1', Date.now());
    expect(e.published.map((x) => [x.orderId, x.status])).toEqual([['o1', 'CONFIRMED']]);
    expect(calls.charge).toBe(1);
  });

  it('refunds a charge that settled after the hold expired', async () => {
    const orders = memoryOrders(base, (o) => {
      o.status = 'EXPIRED';
    });
    const { g, calls } = gateway({ status: 'approved', chargeId: 'ch_o1' });
    await settlePayment({ orders: orders.store, events: events().port, gateway: g }, 'o1', Date.now());
    expect(orders.current().status).toBe('EXPIRED');
    expect(calls.refunds).toEqual(['o1']);
  });

  it('does not charge an order that is no longer PAYMENT_PENDING', async () => {
    const orders = memoryOrders({ ...base, status: 'CANCELLED' });
    const { g, calls } = gateway({ status: 'approved', chargeId: 'x' });
    await settlePayment({ orders: orders.store, events: events().port, gateway: g }, 'o1', Date.now());
    expect(calls.charge).toBe(0);
  });

  it('fails a declined payment with its reason and counts the released units', async () => {
    const orders = memoryOrders(base);
    const counted: string[] = [];
    const { g } = gateway({ status: 'declined', reason: 'card_declined' });
    await settlePayment(
      {
        orders: orders.store,
        events: events().port,
        gateway: g,
        observe: (e) => counted.push(e),
      },
      'o1',
      Date.now(),
    );
    expect(orders.current()).toMatchObject({ status: 'PAYMENT_FAILED', failureReason: 'card_declined' });
    expect(counted).toEqual(['paymentFailed', 'unitsReleased']);
  });
});

describe('requestPayment', () => {
  it('re-sends the payment job for an order already PAYMENT_PENDING (crash between the two steps)', async () => {
    const orders = memoryOrders(base);
    const sent: string[] = [];
    await requestPayment(
      {
        orders: orders.store,
        queue: { ...noQueue, enqueuePayment: async (o) => void sent.push(o.orderId) },
      },
      'o1',
      Date.now(),
    );
    expect(sent).toEqual(['o1']);
  });
});

describe('reconcile', () => {
  it('re-sends a RESERVED order inside its hold and expires one past it', async () => {
    const now = Date.parse('2026-11-21T12:05:00Z');
    const reserved = memoryOrders({ ...base, status: 'RESERVED' });
    const sent: string[] = [];
    const deps = {
      orders: reserved.store,
      queue: { ...noQueue, enqueueOrder: async (o: Pick<Order, 'orderId'>) => void sent.push(o.orderId) },
      events: events().port,
    };
    expect(await reconcile(deps, now, { limit: 10, reenqueueGraceMs: 30_000 })).toEqual({
      examined: 1,
      expired: 0,
      reenqueued: 1,
    });
    expect(sent).toEqual(['o1']);
    const late = Date.parse('2026-11-21T12:10:00Z');
    expect(await reconcile(deps, late, { limit: 10, reenqueueGraceMs: 30_000 })).toEqual({
      examined: 1,
      expired: 1,
      reenqueued: 0,
    });
    expect(reserved.current().status).toBe('EXPIRED');
  });
});
