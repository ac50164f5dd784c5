import { describe, expect, it } from 'vitest';
import { DomainError } from '../../shared/domain/errors.ts';
import { bodyHashOf, type Order, orderIdFor } from '../../shared/domain/order.ts';
import type { Sale } from '../../shared/domain/sale.ts';
import { type DispenserState, numbersOf } from '../../shared/domain/stock.ts';
import type {
  Claim,
  ClaimResult,
  OrderQueue,
  OrderStore,
  SaleStore,
  StockStore,
  TakeResult,
} from '../../shared/ports.ts';
import { type CheckoutDeps, placeOrder, SaleCatalog } from '../../shared/usecases/checkout.ts';

const now = Date.parse('2026-11-21T12:00:00Z');
const baseSale: Sale = {
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

type TakeFault = 'busy' | undefined;
/** committed-lost: DynamoDB applies the claim, the answer never arrives. */
type ClaimFault = 'busy' | 'lost' | 'committed-lost' | undefined;

/**
 * An in-memory world of our own ports with DynamoDB's rules: a take is a compare-and-set on one
 * dispenser, a claim is all-or-nothing with put-if-absent items, a give-back skips numbers that
 * already have a unit item. Faults are scripted per call.
 */
function world(options: {
  caps: number[];
  sale?: Partial<Sale>;
  takeFault?: (call: number) => TakeFault;
  claimFault?: (call: number) => ClaimFault;
  failSend?: boolean;
  budgetMs?: number;
}) {
  const sale: Sale = { ...baseSale, ...options.sale, shards: options.caps.length };
  const dispensers: DispenserState[] = options.caps.map((cap) => ({ issued: 0, cap }));
  const units = new Map<string, { state: 'claimed' | 'returned'; orderId?: string }>();
  const orders = new Map<string, Order>();
  const counters = new Map<string, number>();
  const calls = { takes: 0, claims: 0, reads: 0, giveBacks: 0, tokens: [] as string[] };
  const sent: string[] = [];
  const events: string[] = [];
  let clock = now;
  // Each store call lets other requests run and costs 1 ms of the budget.
  const tick = () =>
    new Promise<void>((resolve) =>
      setImmediate(() => {
        clock += 1;
        resolve();
      }),
    );

  const sales: SaleStore = {
    create: async () => true,
    get: async (id) => (id === sale.saleId ? sale : undefined),
    readDispensers: async () => {
      calls.reads++;
      await tick();
      return dispensers.map((d) => ({ ...d }));
    },
  };
  const stock: StockStore = {
    take: async (_saleId, dispenser, quantity): Promise<TakeResult> => {
      const call = ++calls.takes;
      await tick();
      if (options.takeFault?.(call) === 'busy') return { ok: false, kind: 'busy' };
      const d = dispensers[dispenser] as DispenserState;
      if (d.cap - d.issued < quantity) return { ok: false, kind: 'short', remaining: d.cap - d.issued };
      d.issued += quantity;
      return { ok: true, range: { dispenser, first: d.issued - quantity + 1, count: quantity } };
    },
    giveBack: async (_saleId, ranges) => {
      calls.giveBacks++;
      await tick();
      let returned = 0;
      for (const { dispenser, number } of numbersOf(ranges)) {
        const key = `${dispenser}#${number}`;
        if (units.has(key)) continue;
        units.set(key, { state: 'returned' });
        (dispensers[dispenser] as DispenserState).cap++;
        returned++;
      }
      return returned;
    },
    settled: async (_saleId, span) => {
      await tick();
      const present = new Set<number>();
      for (let n = span.from; n <= span.to; n++) if (units.has(`${span.dispenser}#${n}`)) present.add(n);
      return present;
    },
  };
  const commit = ({ order, perUserLimit }: Claim): ClaimResult => {
    const existing = orders.get(order.orderId);
    if (existing) return { ok: false, kind: 'duplicate', existing: existing as never };
    const held = counters.get(order.userId) ?? 0;
    if (held > perUserLimit - order.quantity) return { ok: false, kind: 'limit', held };
    const numbers = numbersOf(order.claimed).map((n) => `${n.dispenser}#${n.number}`);
    if (numbers.some((key) => units.has(key))) return { ok: false, kind: 'numberGone' };
    for (const key of numbers) units.set(key, { state: 'claimed', orderId: order.orderId });
    orders.set(order.orderId, structuredClone(order));
    counters.set(order.userId, held + order.quantity);
    return { ok: true };
  };
  const orderStore = {
    claim: async (claim: Claim): Promise<ClaimResult> => {
      const call = ++calls.claims;
      calls.tokens.push(`${claim.order.orderId}|${claim.attempt}`);
      await tick();
      const fault = options.claimFault?.(call);
      if (fault === 'busy') return { ok: false, kind: 'busy' };
      if (fault === 'lost') return { ok: false, kind: 'unknown' };
      const result = commit(claim);
      return fault === 'committed-lost' ? { ok: false, kind: 'unknown' } : result;
    },
    get: async (orderId: string) => {
      await tick();
      const order = orders.get(orderId);
      return order ? structuredClone(order) : undefined;
    },
  } as unknown as OrderStore;
  const queue: OrderQueue = {
    enqueueOrder: async (o) => {
      if (options.failSend) throw new Error('SQS down');
      sent.push(o.orderId);
    },
    enqueuePayment: async () => {},
  };
  const deps: CheckoutDeps = {
    sales,
    stock,
    orders: orderStore,
    queue,
    catalog: new SaleCatalog(sales, 3_000),
    maxAttempts: 4,
    soldOutMemoMs: 1_000,
    budgetMs: options.budgetMs ?? 3_000,
    reenqueueGraceMs: 30_000,
    observe: (e) => events.push(e),
    // Time passes on store calls and waits only: the budget is spent deterministically.
    sleep: async (ms) => {
      clock += ms;
    },
    clock: () => clock,
    random: () => 0,
  };
  const issued = () => dispensers.reduce((a, d) => a + d.issued, 0);
  const available = () => dispensers.reduce((a, d) => a + d.cap - d.issued, 0);
  const inFlight = () => issued() - units.size;
  return {
    deps,
    dispensers,
    units,
    orders,
    counters,
    calls,
    sent,
    events,
    issued,
    available,
    inFlight,
    sale,
  };
}

const request = {
  userId: 'u1',
  saleId: 's1',
  idempotencyKey: 'k1',
  body: { quantity: 1, paymentToken: 'tok_ok' },
  now,
};
const buyer = (i: number, quantity = 1) => ({
  ...request,
  userId: `u${i}`,
  idempotencyKey: `k${i}`,
  body: { quantity, paymentToken: 'tok_ok' },
});
const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (e: unknown) => (e instanceof DomainError ? e.code : `thrown ${String(e)}`),
  );

/** Holds open the dispenser reads `hold` picks (by their count) until `release()`. */
function holdReads(w: ReturnType<typeof world>, hold: (read: number) => boolean) {
  let release: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  let started = 0;
  const readDispensers = w.deps.sales.readDispensers;
  w.deps.sales = {
    ...w.deps.sales,
    readDispensers: async (...args) => {
      started++;
      if (hold(started)) await opened;
      return readDispensers(...args);
    },
  };
  return { release, started: () => started };
}

/** Lets other requests run (each store call of the world is one turn), at most `n` turns. */
async function turns(n: number, until: () => boolean = () => false): Promise<void> {
  for (let turn = 0; turn < n && !until(); turn++) await new Promise((resolve) => setImmediate(resolve));
}

describe('placeOrder: take numbers, then claim them', () => {
  it('takes a number, claims it with the order, sends the order and reports it', async () => {
    const w = world({ caps: [2, 2] });
    const { order, replayed } = await placeOrder(w.deps, request);
    expect(replayed).toBe(false);
    expect(order).toMatchObject({
      status: 'RESERVED',
      amount: 500,
      quantity: 1,
      userId: 'u1',
      expiresAt: '2026-11-21T12:10:00.000Z',
      claimed: [{ dispenser: 0, first: 1, count: 1 }],
    });
    expect(order.releaseTo).toBeGreaterThanOrEqual(0);
    expect(order.releaseTo).toBeLessThan(2);
    expect(w.sent).toEqual([order.orderId]);
    expect(w.events).toEqual(['reserved']);
    expect(w.units.get('0#1')).toEqual({ state: 'claimed', orderId: order.orderId });
    expect(w.counters.get('u1')).toBe(1);
  });

  it('takes from several dispensers when no single one has enough', async () => {
    const w = world({ caps: [1, 1, 1] });
    const { order } = await placeOrder(w.deps, buyer(1, 2));
    expect(numbersOf(order.claimed)).toHaveLength(2);
    expect(w.available()).toBe(1);
    expect(w.inFlight()).toBe(0);
  });

  it('replays first: the same key and body get the order back and take no number', async () => {
    const w = world({ caps: [2, 2] });
    const first = await placeOrder(w.deps, request);
    const takes = w.calls.takes;
    const again = await placeOrder(w.deps, request);
    expect(again).toMatchObject({ replayed: true, order: { orderId: first.order.orderId } });
    expect(w.calls.takes).toBe(takes);
    expect(w.events).toEqual(['reserved', 'replayed']);
    await expect(
      placeOrder(w.deps, { ...request, body: { quantity: 2, paymentToken: 'tok_ok' } }),
    ).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(w.calls.takes).toBe(takes);
  });

  it('gives the numbers back at once when the buyer limit refuses the claim', async () => {
    const w = world({ caps: [5, 5] });
    await placeOrder(w.deps, {
      ...request,
      idempotencyKey: 'a',
      body: { quantity: 2, paymentToken: 'tok_ok' },
    });
    const error = await placeOrder(w.deps, { ...request, idempotencyKey: 'b' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PURCHASE_LIMIT_EXCEEDED' });
    expect(w.units.get('0#3')).toEqual({ state: 'returned' });
    expect(w.available()).toBe(8);
    expect(w.inFlight()).toBe(0);
    expect(w.events).toContain('numbersReturned');
  });

  it('turns concurrent copies of one key into one order, giving the losers’ numbers back', async () => {
    const w = world({ caps: [10, 10] });
    const replies = await Promise.all(Array.from({ length: 8 }, () => placeOrder(w.deps, request)));
    expect(new Set(replies.map((r) => r.order.orderId)).size).toBe(1);
    expect(replies.filter((r) => !r.replayed)).toHaveLength(1);
    expect(w.orders.size).toBe(1);
    expect(w.available()).toBe(19);
    expect(w.inFlight()).toBe(0);
    expect(w.sent).toHaveLength(1);
  });

  it('keeps the order when sending it fails: the reconciler sends it later', async () => {
    const w = world({ caps: [2, 2], failSend: true });
    const { order } = await placeOrder(w.deps, request);
    expect(order.status).toBe('RESERVED');
    expect(w.events).toEqual(['reserved', 'enqueueFailed']);
  });

  it('checks the cached window and limits without taking a number', async () => {
    const w = world({ caps: [2, 2] });
    await expect(
      placeOrder(w.deps, { ...request, body: { quantity: 3, paymentToken: 'tok_ok' } }),
    ).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(
      placeOrder(w.deps, { ...request, now: Date.parse('2026-11-23T00:00:00Z') }),
    ).rejects.toMatchObject({ code: 'SALE_NOT_ACTIVE' });
    await expect(placeOrder(w.deps, { ...request, saleId: 'nope' })).rejects.toMatchObject({
      code: 'SALE_NOT_FOUND',
    });
    const big = world({ caps: [200], sale: { perUserLimit: 500 } });
    await expect(
      placeOrder(big.deps, { ...request, body: { quantity: 99, paymentToken: 'tok_ok' } }),
    ).rejects.toMatchObject({ code: 'VALIDATION_ERROR', message: expect.stringMatching(/at most 98/) });
    expect(w.calls.takes + big.calls.takes).toBe(0);
  });
});

describe('placeOrder: SOLD_OUT only when no number can come back', () => {
  /** Another checkout's take that has neither claimed nor returned its number yet. */
  const takeWithoutClaim = (w: ReturnType<typeof world>, dispenser: number) => {
    const d = w.dispensers[dispenser] as DispenserState;
    d.issued++;
    return { dispenser, first: d.issued, count: 1 };
  };

  it('answers RETRY (3 s) while a number is in flight, SOLD_OUT once it is claimed', async () => {
    const w = world({ caps: [1, 1] });
    await placeOrder(w.deps, buyer(1));
    const pending = takeWithoutClaim(w, 1);
    const refusal = await placeOrder(w.deps, buyer(2)).catch((e: unknown) => e);
    expect(refusal).toMatchObject({ code: 'RETRY', retryAfterSeconds: 3 });
    expect(w.events).toContain('settling');
    // From memory for the memo period: no stock read per refusal (the buyer's own order is still
    // read first, so a retry of a placed order gets it back whatever the stock says).
    const reads = w.calls.reads;
    await expect(placeOrder(w.deps, { ...buyer(3), now: now + 500 })).rejects.toMatchObject({
      code: 'RETRY',
    });
    expect(w.calls.reads).toBe(reads);
    // The other checkout claims its number: after the memo, the answer is SOLD_OUT.
    w.units.set(`${pending.dispenser}#${pending.first}`, { state: 'claimed', orderId: 'other' });
    await expect(placeOrder(w.deps, { ...buyer(4), now: now + 1_000 })).rejects.toMatchObject({
      code: 'SOLD_OUT',
    });
    expect(w.inFlight()).toBe(0);
  });

  it('sells the number once its checkout gives it back', async () => {
    const w = world({ caps: [1] });
    const pending = takeWithoutClaim(w, 0);
    await expect(placeOrder(w.deps, buyer(1))).rejects.toMatchObject({ code: 'RETRY' });
    await w.deps.stock.giveBack('s1', [pending]);
    const { order } = await placeOrder(w.deps, { ...buyer(1), now: now + 1_000 });
    expect(order.status).toBe('RESERVED');
    expect([w.available(), w.inFlight()]).toEqual([0, 0]);
  });

  it('gives back a number abandoned longer than any checkout holds one, within seconds, and sells it', async () => {
    const w = world({ caps: [1], budgetMs: 1_000 });
    takeWithoutClaim(w, 0);
    await expect(placeOrder(w.deps, buyer(1))).rejects.toMatchObject({ code: 'RETRY' });
    expect(w.calls.giveBacks).toBe(0);
    // Its holder, whoever it was, was done within one budget and a give-back's second.
    w.deps.clock = () => now + 2_100;
    await expect(placeOrder(w.deps, { ...buyer(2), now: now + 2_100 })).rejects.toMatchObject({
      code: 'RETRY',
    });
    expect(w.units.get('0#1')).toEqual({ state: 'returned' });
    const { order } = await placeOrder(w.deps, { ...buyer(2), now: now + 3_200 });
    expect(order.claimed).toEqual([{ dispenser: 0, first: 2, count: 1 }]);
  });

  it('says SOLD_OUT when what is in flight could not cover the quantity asked', async () => {
    const w = world({ caps: [2], sale: { perUserLimit: 4 } });
    takeWithoutClaim(w, 0);
    takeWithoutClaim(w, 0);
    await expect(placeOrder(w.deps, buyer(1, 3))).rejects.toMatchObject({ code: 'SOLD_OUT' });
  });
});

describe('placeOrder: SOLD_OUT from the truth, and cold instances', () => {
  it('says SOLD_OUT only after a consistent read finds too little, then answers from memory', async () => {
    const w = world({ caps: [1, 0] });
    await placeOrder(w.deps, buyer(1));
    await expect(placeOrder(w.deps, buyer(2))).rejects.toMatchObject({ code: 'SOLD_OUT' });
    const { takes, reads } = w.calls;
    expect(reads).toBe(1);
    await expect(placeOrder(w.deps, buyer(3))).rejects.toMatchObject({ code: 'SOLD_OUT' });
    expect(w.calls.takes).toBe(takes);
    expect(w.calls.reads).toBe(reads);
    // A retry of an order that went through still gets it back after the sell-out.
    expect(await placeOrder(w.deps, buyer(1))).toMatchObject({ replayed: true });
  });

  it('moves to another dispenser after a short one, reading the truth once', async () => {
    const w = world({ caps: [0, 0, 0, 2] });
    const { order } = await placeOrder(w.deps, request);
    expect(order.claimed[0]?.dispenser).toBe(3);
    expect(w.calls.reads).toBe(1);
    expect(w.calls.takes).toBe(2);
  });

  it('a cold instance facing 3 units on 1 of 50 dispensers sells them to 3 of 300 first requests, no RETRY', async () => {
    const caps = new Array(50).fill(0);
    caps[37] = 3;
    const w = world({ caps, sale: { perUserLimit: 1 } });
    w.deps.random = Math.random;
    const codes = await Promise.all(
      Array.from({ length: 300 }, (_, i) => codeOf(placeOrder(w.deps, buyer(i)))),
    );
    const tally = Object.fromEntries(
      [...new Set(codes)].map((c) => [c, codes.filter((x) => x === c).length]),
    );
    expect(tally).toEqual({ ok: 3, SOLD_OUT: 297 });
    expect(w.inFlight()).toBe(0);
    expect(w.available()).toBe(0);
  });

  it('requests needing the truth at once share one read, but never one begun before they were', async () => {
    const w = world({ caps: [0, 0] });
    const crowd = await Promise.all(
      Array.from({ length: 40 }, (_, i) => codeOf(placeOrder(w.deps, buyer(i)))),
    );
    expect(new Set(crowd)).toEqual(new Set(['SOLD_OUT']));
    // 40 buyers found a dispenser short at the same moment: one K-item read, not 40.
    expect(w.calls.reads).toBe(1);

    // A read held open: a request that began after it started must not take its answer.
    const held = world({ caps: [0, 0] });
    const reads = holdReads(held, () => true);
    const clock = held.deps.clock as () => number;
    const first = codeOf(placeOrder(held.deps, buyer(1)));
    await turns(1000, () => reads.started() === 1);
    const later = codeOf(placeOrder(held.deps, { ...buyer(2), now: clock() + 1 }));
    const earlier = codeOf(placeOrder(held.deps, buyer(3)));
    // Each store call is one turn here: a few turns take each to the read it may share.
    await turns(20);
    reads.release();
    expect(await Promise.all([first, later, earlier])).toEqual(['SOLD_OUT', 'SOLD_OUT', 'SOLD_OUT']);
    expect(reads.started()).toBe(2);
  });

  it('requests arriving while an older read is in flight share the one read that follows it', async () => {
    const held = world({ caps: [0, 0] });
    const reads = holdReads(held, (n) => n === 1);
    const clock = held.deps.clock as () => number;
    const first = codeOf(placeOrder(held.deps, buyer(1)));
    await turns(1000, () => reads.started() === 1);
    // 30 buyers arrive after the first read began: none may take its answer, and one read serves them all.
    const crowd = Array.from({ length: 30 }, (_, i) =>
      codeOf(placeOrder(held.deps, { ...buyer(10 + i), now: clock() + 1 })),
    );
    await turns(20);
    expect(reads.started()).toBe(1);
    reads.release();
    expect(new Set(await Promise.all([first, ...crowd]))).toEqual(new Set(['SOLD_OUT']));
    expect(reads.started()).toBe(2);
  });

  it('sells every unit to a crowd over many dispensers, never more', async () => {
    const w = world({ caps: [7, 0, 3, 5, 1, 0, 4], sale: { perUserLimit: 2 } });
    w.deps.random = Math.random;
    const codes = await Promise.all(
      Array.from({ length: 60 }, (_, i) => codeOf(placeOrder(w.deps, buyer(i, 1 + (i % 2))))),
    );
    const sold = [...w.orders.values()].reduce((a, o) => a + o.quantity, 0);
    expect(sold).toBe(20);
    expect(codes.filter((c) => c !== 'ok' && c !== 'SOLD_OUT')).toEqual([]);
    expect(w.units.size).toBe(w.issued());
    expect(w.available()).toBe(0);
  });
});

describe('placeOrder: budget, contention and unknown outcomes', () => {
  it('answers RETRY with Retry-After when every take is throttled, having backed off within the budget', async () => {
    const w = world({ caps: [2, 2], takeFault: () => 'busy' });
    const error = await placeOrder(w.deps, request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'RETRY', retryAfterSeconds: 1 });
    expect(w.calls.takes).toBe(4);
    expect(w.events.filter((e) => e === 'contention')).toHaveLength(4);
    expect(w.issued()).toBe(0);
  });

  it('stops when the budget is spent, even below the attempt bound', async () => {
    const w = world({ caps: [2, 2], takeFault: () => 'busy', budgetMs: 300 });
    w.deps.maxAttempts = 20;
    w.deps.random = () => 1;
    await expect(placeOrder(w.deps, request)).rejects.toMatchObject({ code: 'RETRY' });
    expect(w.calls.takes).toBeLessThan(20);
  });

  it('recovers from contention when a later take succeeds', async () => {
    const w = world({ caps: [2, 2], takeFault: (call) => (call < 3 ? 'busy' : undefined) });
    expect((await placeOrder(w.deps, request)).replayed).toBe(false);
    expect(w.calls.takes).toBe(3);
  });

  it('a claim whose answer is lost after it committed is resent with the same token and answers 202, once', async () => {
    const w = world({ caps: [2, 2], claimFault: (call) => (call === 1 ? 'committed-lost' : undefined) });
    const { order, replayed } = await placeOrder(w.deps, request);
    expect(replayed).toBe(false);
    expect(w.calls.takes).toBe(1);
    expect(w.calls.tokens).toEqual([`${order.orderId}|1`, `${order.orderId}|1`]);
    expect(w.orders.size).toBe(1);
    expect(w.counters.get('u1')).toBe(1);
    expect(w.inFlight()).toBe(0);
    expect(w.sent).toEqual([order.orderId]);
  });

  it('settles an outcome still unknown when the budget ends by reading the order: committed → 202', async () => {
    const w = world({ caps: [2, 2], claimFault: (call) => (call === 1 ? 'committed-lost' : 'lost') });
    const { order, replayed } = await placeOrder(w.deps, request);
    expect(replayed).toBe(false);
    expect(w.orders.get(order.orderId)?.claimed).toEqual(order.claimed);
    expect(w.calls.takes).toBe(1);
    expect(w.events).toContain('outcomeUnknown');
  });

  it('settles a claim that never landed as RETRY, fencing its numbers so they sell again', async () => {
    const w = world({ caps: [1], claimFault: (call) => (call <= 4 ? 'lost' : undefined) });
    const error = await placeOrder(w.deps, request).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RETRY', retryAfterSeconds: 1 });
    expect((error as Error).message).toMatch(/same Idempotency-Key returns the order if it was placed/);
    expect(w.orders.size).toBe(0);
    expect(w.units.get('0#1')).toEqual({ state: 'returned' });
    expect(w.available()).toBe(1);
    // The buyer retries as told and gets the unit.
    w.deps.budgetMs = 3_000;
    const retry = await placeOrder(w.deps, request);
    expect(retry.order.claimed).toEqual([{ dispenser: 0, first: 2, count: 1 }]);
  });

  it('answers RETRY (not 500) when a store is unreachable', async () => {
    const w = world({ caps: [2] });
    const { StoreBusyError } = await import('../../shared/ports.ts');
    w.deps.orders.get = async () => {
      throw new StoreBusyError('timed out');
    };
    await expect(placeOrder(w.deps, request)).rejects.toMatchObject({ code: 'RETRY', retryAfterSeconds: 1 });
    expect(w.issued()).toBe(0);
  });

  it('never takes a second time for one key, whatever the faults', async () => {
    const w = world({
      caps: [3, 3],
      claimFault: (call) => (['committed-lost', 'busy', 'lost'] as ClaimFault[])[call - 1],
    });
    const first = await placeOrder(w.deps, request).catch((e: unknown) => e);
    const again = await placeOrder(w.deps, request).catch((e: unknown) => e);
    expect(w.orders.size).toBe(1);
    const id = orderIdFor('u1', 's1', 'k1');
    expect((first as { order?: Order }).order?.orderId ?? id).toBe(id);
    expect(again).toMatchObject({
      replayed: true,
      order: { orderId: id, bodyHash: bodyHashOf(request.body) },
    });
    expect(w.issued() - w.units.size).toBe(0);
  });
});
