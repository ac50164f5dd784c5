import { describe, expect, it } from 'vitest';
import { DomainError } from '../../shared/domain/errors.ts';
import type { Order } from '../../shared/domain/order.ts';
import type { Sale } from '../../shared/domain/sale.ts';
import type { OrderQueue, OrderStore, Reservation, ReserveResult, SaleStore } from '../../shared/ports.ts';
import { type CheckoutDeps, placeOrder, SaleCatalog } from '../../shared/usecases/checkout.ts';

const now = Date.parse('2026-11-21T12:00:00Z');
const sale: Sale = {
  saleId: 's1',
  name: 'drop',
  price: 500,
  currency: 'EUR',
  totalStock: 4,
  perUserLimit: 2,
  startsAt: '2026-11-21T00:00:00Z',
  endsAt: '2026-11-22T00:00:00Z',
  shards: 2,
  holdSeconds: 600,
  createdAt: '2026-11-20T00:00:00Z',
};

/** In-memory fakes of our own ports, scripted per test. */
function fakes(script: {
  reserve: (r: Reservation, call: number) => ReserveResult;
  shards?: number[];
  failSend?: boolean;
}) {
  const reservations: Reservation[] = [];
  const sent: string[] = [];
  const events: string[] = [];
  let reads = 0;
  const sales: SaleStore = {
    create: async () => true,
    get: async (id) => (id === sale.saleId ? sale : undefined),
    readShards: async () => {
      reads++;
      return script.shards ?? [2, 2];
    },
  };
  const orders = {
    reserve: async (r: Reservation) => {
      reservations.push(r);
      return script.reserve(r, reservations.length);
    },
    get: async () => undefined,
  } as unknown as OrderStore;
  const queue: OrderQueue = {
    enqueueOrder: async (o) => {
      if (script.failSend) throw new Error('SQS down');
      sent.push(o.orderId);
    },
    enqueuePayment: async () => {},
  };
  const deps: CheckoutDeps = {
    sales,
    orders,
    queue,
    catalog: new SaleCatalog(sales, 3_000),
    maxAttempts: 4,
    soldOutMemoMs: 1_000,
    reenqueueGraceMs: 30_000,
    observe: (e) => events.push(e),
    sleep: async () => {},
    random: () => 0,
  };
  return { deps, reservations, sent, events, reads: () => reads };
}

const request = {
  userId: 'u1',
  saleId: 's1',
  idempotencyKey: 'k1',
  body: { quantity: 1, paymentToken: 'tok_ok' },
  now,
};

describe('placeOrder', () => {
  it('reserves, sends the order and reports it', async () => {
    const f = fakes({ reserve: () => ({ ok: true }) });
    const { order, replayed } = await placeOrder(f.deps, request);
    expect(replayed).toBe(false);
    expect(order).toMatchObject({
      status: 'RESERVED',
      amount: 500,
      quantity: 1,
      userId: 'u1',
      expiresAt: '2026-11-21T12:10:00.000Z',
    });
    expect(f.sent).toEqual([order.orderId]);
    expect(f.events).toEqual(['reserved']);
    expect(f.reservations[0]?.perUserLimit).toBe(2);
  });

  it('retries contention with backoff, then answers RETRY with Retry-After', async () => {
    const f = fakes({ reserve: () => ({ ok: false, kind: 'contention' }) });
    const error = await placeOrder(f.deps, request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'RETRY', retryAfterSeconds: 1 });
    expect(f.reservations).toHaveLength(4);
    expect(f.events.filter((e) => e === 'contention')).toHaveLength(4);
  });

  it('recovers from contention when a later attempt commits', async () => {
    const f = fakes({ reserve: (_r, call) => (call < 3 ? { ok: false, kind: 'contention' } : { ok: true }) });
    expect((await placeOrder(f.deps, request)).replayed).toBe(false);
    expect(f.reservations).toHaveLength(3);
  });

  it('moves to another shard when the chosen one is short, without a consistent read', async () => {
    const f = fakes({
      reserve: (r, call) =>
        call === 1
          ? {
              ok: false,
              kind: 'shortShards',
              observed: [{ shard: [...r.plan.keys()][0] as number, units: 0 }],
            }
          : { ok: true },
    });
    await placeOrder(f.deps, request);
    const [first, second] = f.reservations.map((r) => [...r.plan.keys()][0]);
    expect(first).not.toBe(second);
    expect(f.reads()).toBe(0);
  });

  it('says SOLD_OUT after a consistent read finds too little, and then answers from memory', async () => {
    const f = fakes({
      reserve: (r) => ({
        ok: false,
        kind: 'shortShards',
        observed: [...r.plan.keys()].map((shard) => ({ shard, units: 0 })),
      }),
      shards: [0, 0],
    });
    await expect(placeOrder(f.deps, request)).rejects.toMatchObject({ code: 'SOLD_OUT' });
    const calls = f.reservations.length;
    await expect(placeOrder(f.deps, { ...request, idempotencyKey: 'k2' })).rejects.toMatchObject({
      code: 'SOLD_OUT',
    });
    expect(f.reservations).toHaveLength(calls);
    expect(f.reads()).toBe(1);
  });

  it('keeps the order when sending it fails: the reconciler sends it later', async () => {
    const f = fakes({ reserve: () => ({ ok: true }), failSend: true });
    const { order } = await placeOrder(f.deps, request);
    expect(order.status).toBe('RESERVED');
    expect(f.events).toEqual(['reserved', 'enqueueFailed']);
  });

  it('replays an existing order for the same body and refuses another body', async () => {
    const existing = (body: string) => ({
      ok: false as const,
      kind: 'duplicate' as const,
      existing: { orderId: 'o', bodyHash: body } as unknown as Record<string, unknown>,
    });
    const { bodyHashOf } = await import('../../shared/domain/order.ts');
    const same = fakes({ reserve: () => existing(bodyHashOf(request.body)) });
    expect(await placeOrder(same.deps, request)).toMatchObject({
      replayed: true,
      order: { orderId: 'o' } as Partial<Order>,
    });
    expect(same.events).toEqual(['replayed']);
    const other = fakes({ reserve: () => existing('another') });
    await expect(placeOrder(other.deps, request)).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('checks the cached window and limit without touching the tables', async () => {
    const f = fakes({ reserve: () => ({ ok: true }) });
    await expect(
      placeOrder(f.deps, { ...request, body: { quantity: 3, paymentToken: 'tok_ok' } }),
    ).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(
      placeOrder(f.deps, { ...request, now: Date.parse('2026-11-23T00:00:00Z') }),
    ).rejects.toMatchObject({ code: 'SALE_NOT_ACTIVE' });
    await expect(placeOrder(f.deps, { ...request, saleId: 'nope' })).rejects.toMatchObject({
      code: 'SALE_NOT_FOUND',
    });
    expect(f.reservations).toHaveLength(0);
  });
});
