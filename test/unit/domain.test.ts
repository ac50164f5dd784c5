import { describe, expect, it } from 'vitest';
import { Budget } from '../../shared/domain/budget.ts';
import { decodeCancellation } from '../../shared/domain/cancellation.ts';
import { NumbersInFlight } from '../../shared/domain/in-flight.ts';
import {
  bodyHashOf,
  canTransition,
  DUE_BUCKETS,
  dueBucketOf,
  isTerminal,
  orderIdFor,
  orderStatuses,
  releaseDispenserOf,
  releasesStock,
} from '../../shared/domain/order.ts';
import { deriveDispenserCount, saleStatus, splitStock } from '../../shared/domain/sale.ts';
import {
  type NumberRange,
  numbersOf,
  planTake,
  remainingOf,
  StockBeliefs,
  sameRanges,
} from '../../shared/domain/stock.ts';

describe('dispenser choice and beliefs', () => {
  it('takes from one dispenser that can cover the quantity, spreading by the random pick', () => {
    const beliefs = [0, 5, 1, 5];
    expect(planTake(beliefs, 2, () => 0)).toEqual(new Map([[1, 2]]));
    expect(planTake(beliefs, 2, () => 0.99)).toEqual(new Map([[3, 2]]));
    const picks = new Set(
      Array.from({ length: 50 }, (_, i) => [...(planTake(beliefs, 1, () => i / 50) ?? new Map()).keys()][0]),
    );
    expect(picks).toEqual(new Set([1, 2, 3]));
  });

  it('spans several dispensers, largest first, when no single one is enough', () => {
    expect(planTake([1, 0, 2, 1], 4)).toEqual(
      new Map([
        [2, 2],
        [0, 1],
        [3, 1],
      ]),
    );
  });

  it('gives up only when the beliefs hold less than the quantity', () => {
    expect(planTake([1, 1, 0], 3)).toBeUndefined();
    expect(planTake([0, 0], 1)).toBeUndefined();
  });

  it('treats unknown dispensers as worth trying and learns from what DynamoDB returns', () => {
    const stock = new StockBeliefs(3);
    expect(stock.plan(1, () => 0)).toEqual(new Map([[0, 1]]));
    stock.observed(0, 0);
    stock.observed(1, 0);
    expect(stock.plan(1, () => 0)).toEqual(new Map([[2, 1]]));
    stock.taken(2, 1);
    expect(stock.snapshot()[2]).toBe(Number.POSITIVE_INFINITY);
    stock.observed(2, 3);
    stock.taken(2, 2);
    expect(stock.snapshot()).toEqual([0, 0, 1]);
  });

  it('plans from a consistent read as cap − issued, and remembers a verdict only for the memo period', () => {
    const stock = new StockBeliefs(2);
    stock.refreshed([
      { issued: 5, cap: 5 },
      { issued: 7, cap: 7 },
    ]);
    expect(stock.total()).toBe(0);
    stock.concluded('soldOut', 1_000, 500);
    expect(stock.known(1_400)).toBe('soldOut');
    expect(stock.known(1_500)).toBeUndefined();
    stock.concluded('settling', 1_500, 500);
    expect(stock.known(1_600)).toBe('settling');
    // A release raised the second dispenser's cap: the read forgets the verdict, and the plan goes there.
    stock.refreshed([
      { issued: 5, cap: 5 },
      { issued: 7, cap: 9 },
    ]);
    expect(stock.known(1_700)).toBeUndefined();
    expect(stock.total()).toBe(2);
    expect(stock.plan(2)).toEqual(new Map([[1, 2]]));
    expect(remainingOf({ issued: 9, cap: 7 })).toBe(0);
  });

  it('lists the numbers of ranges and compares ranges whatever their order', () => {
    const ranges = [
      { dispenser: 2, first: 4, count: 2 },
      { dispenser: 0, first: 1, count: 1 },
    ];
    expect(numbersOf(ranges)).toEqual([
      { dispenser: 2, number: 4 },
      { dispenser: 2, number: 5 },
      { dispenser: 0, number: 1 },
    ]);
    expect(sameRanges(ranges, [...ranges].reverse())).toBe(true);
    expect(sameRanges(ranges, [{ dispenser: 2, first: 4, count: 2 }])).toBe(false);
    expect(sameRanges(ranges, [ranges[0] as NumberRange, { dispenser: 0, first: 2, count: 1 }])).toBe(false);
  });

  it('spreads releases over the dispensers by order id', () => {
    const targets = new Set(
      Array.from({ length: 400 }, (_, i) => releaseDispenserOf(orderIdFor('u', 's', String(i)), 16)),
    );
    expect(targets.size).toBe(16);
    expect([...targets].every((d) => d >= 0 && d < 16)).toBe(true);
  });
});

describe('time budget', () => {
  it('keeps a reserve for settling and never pauses past it', () => {
    let now = 0;
    const budget = new Budget(3_000, () => now, 500);
    expect(budget.canTry()).toBe(true);
    expect(budget.pause(250)).toBe(250);
    now = 2_400;
    expect(budget.canTry()).toBe(true);
    expect(budget.pause(250)).toBe(100);
    now = 2_600;
    expect(budget.canTry()).toBe(false);
    expect(budget.pause(250)).toBe(0);
    expect(budget.left()).toBe(400);
    expect(budget.signal().aborted).toBe(false);
  });
});

describe('sales', () => {
  it('splits stock evenly over the dispensers, the remainder on the first ones', () => {
    expect(splitStock(10, 4)).toEqual([3, 3, 2, 2]);
    expect(splitStock(100, 8).reduce((a, b) => a + b)).toBe(100);
    expect(splitStock(1000, 64).reduce((a, b) => a + b)).toBe(1000);
    expect(() => splitStock(3, 4)).toThrow(/shards/);
    expect(() => splitStock(100, 0)).toThrow(/shards/);
    expect(() => splitStock(1000, 65)).toThrow(/shards/);
  });

  it('derives enough dispensers to spread writes, up to 64', () => {
    expect(deriveDispenserCount(1)).toBe(1);
    expect(deriveDispenserCount(100)).toBe(10);
    expect(deriveDispenserCount(1_000)).toBe(64);
    expect(deriveDispenserCount(1_000_000)).toBe(64);
  });

  it('reports the status from the window and the stock', () => {
    const sale = { startsAt: '2026-01-01T00:00:00Z', endsAt: '2026-01-02T00:00:00Z' };
    expect(saleStatus(sale, 5, Date.parse('2025-12-31T00:00:00Z'))).toBe('SCHEDULED');
    expect(saleStatus(sale, 5, Date.parse('2026-01-01T12:00:00Z'))).toBe('ACTIVE');
    expect(saleStatus(sale, 0, Date.parse('2026-01-01T12:00:00Z'))).toBe('SOLD_OUT');
    expect(saleStatus(sale, 5, Date.parse('2026-01-02T00:00:00Z'))).toBe('ENDED');
  });
});

describe('order status rules', () => {
  it('allows only the lifecycle of DESIGN.md', () => {
    expect(canTransition('RESERVED', 'PAYMENT_PENDING')).toBe(true);
    expect(canTransition('RESERVED', 'CANCELLED')).toBe(true);
    expect(canTransition('PAYMENT_PENDING', 'CANCELLED')).toBe(false);
    expect(canTransition('PAYMENT_PENDING', 'CONFIRMED')).toBe(true);
    expect(canTransition('CONFIRMED', 'EXPIRED')).toBe(false);
    expect(canTransition('EXPIRED', 'CONFIRMED')).toBe(false);
  });

  it('has four terminal statuses, all but CONFIRMED returning stock', () => {
    expect(orderStatuses.filter(isTerminal)).toEqual(['CONFIRMED', 'PAYMENT_FAILED', 'EXPIRED', 'CANCELLED']);
    expect(orderStatuses.filter(releasesStock)).toEqual(['PAYMENT_FAILED', 'EXPIRED', 'CANCELLED']);
  });

  it('derives the order id from (buyer, sale, key) only', () => {
    expect(orderIdFor('alice', 's1', 'k')).toBe(orderIdFor('alice', 's1', 'k'));
    expect(orderIdFor('alice', 's1', 'k')).not.toBe(orderIdFor('bob', 's1', 'k'));
    expect(orderIdFor('alice', 's1', 'k')).not.toBe(orderIdFor('alice', 's2', 'k'));
    // The separator keeps ("ab","c") and ("a","bc") apart.
    expect(orderIdFor('ab', 'c', 'k')).not.toBe(orderIdFor('a', 'bc', 'k'));
    expect(bodyHashOf({ quantity: 1, paymentToken: 't' })).not.toBe(
      bodyHashOf({ quantity: 2, paymentToken: 't' }),
    );
  });

  it('spreads open orders over the due buckets', () => {
    const buckets = new Set(
      Array.from({ length: 200 }, (_, i) => dueBucketOf(orderIdFor('u', 's', String(i)))),
    );
    expect(buckets.size).toBe(DUE_BUCKETS);
  });
});

describe('decoding CancellationReasons of the claim', () => {
  const layout = [{ kind: 'order' as const }, { kind: 'counter' as const }, { kind: 'unit' as const }];
  const none = { Code: 'None' };

  it('puts an existing order first: the request is a retry', () => {
    const existing = { orderId: 'o1' };
    expect(
      decodeCancellation(layout, [
        { Code: 'ConditionalCheckFailed', Item: existing },
        { Code: 'ConditionalCheckFailed' },
        none,
      ]),
    ).toEqual({
      kind: 'duplicate',
      existing,
    });
  });

  it('reads a full buyer counter as the purchase limit', () => {
    expect(
      decodeCancellation(layout, [
        none,
        { Code: 'ConditionalCheckFailed', Item: { units: 2 } },
        { Code: 'ConditionalCheckFailed' },
      ]),
    ).toEqual({
      kind: 'limit',
      held: 2,
    });
  });

  it('reads a unit item already present as a number that is no longer ours', () => {
    expect(decodeCancellation(layout, [none, none, { Code: 'ConditionalCheckFailed' }])).toEqual({
      kind: 'numberGone',
    });
  });

  it('maps conflicts and throttling to busy', () => {
    expect(decodeCancellation(layout, [{ Code: 'TransactionConflict' }, none, none])).toEqual({
      kind: 'busy',
    });
    expect(decodeCancellation(layout, [none, none, { Code: 'ThrottlingError' }])).toEqual({
      kind: 'busy',
    });
  });

  it('refuses to guess at reasons it does not know', () => {
    expect(() => decodeCancellation(layout, [{ Code: 'ValidationError' }, none, none])).toThrow(/Unexpected/);
  });
});

describe('NumbersInFlight', () => {
  it('reads only past the settled prefix and names numbers unsettled for too long', () => {
    const flight = new NumbersInFlight(2);
    const states = [
      { issued: 5, cap: 5 },
      { issued: 0, cap: 3 },
    ];
    expect(flight.unchecked(states)).toEqual([{ dispenser: 0, from: 1, to: 5 }]);
    // 1, 2 and 4 are claimed or returned; 3 and 5 are in flight.
    expect(flight.checked({ dispenser: 0, from: 1, to: 5 }, new Set([1, 2, 4]), 1_000, 500)).toEqual({
      inFlight: 2,
      abandoned: [],
    });
    expect(flight.unchecked(states)).toEqual([{ dispenser: 0, from: 3, to: 5 }]);
    // 3 settled meanwhile; 5 is still unsettled 500 ms after it was first seen.
    expect(flight.checked({ dispenser: 0, from: 3, to: 5 }, new Set([3, 4]), 1_500, 500)).toEqual({
      inFlight: 1,
      abandoned: [{ dispenser: 0, first: 5, count: 1 }],
    });
    expect(flight.unchecked(states)).toEqual([{ dispenser: 0, from: 5, to: 5 }]);
    expect(flight.checked({ dispenser: 0, from: 5, to: 5 }, new Set([5]), 1_600, 500).inFlight).toBe(0);
    expect(flight.unchecked(states)).toEqual([]);
  });
});
