import { describe, expect, it } from 'vitest';
import { decodeCancellation } from '../../shared/domain/cancellation.ts';
import {
  bodyHashOf,
  canTransition,
  DUE_BUCKETS,
  dueBucketOf,
  isTerminal,
  orderIdFor,
  orderStatuses,
  releasesStock,
} from '../../shared/domain/order.ts';
import { deriveShardCount, saleStatus, splitStock } from '../../shared/domain/sale.ts';
import { planTake, StockBeliefs } from '../../shared/domain/stock.ts';

describe('shard choice', () => {
  it('takes from one shard that can cover the quantity, spreading by the random pick', () => {
    const beliefs = [0, 5, 1, 5];
    expect(planTake(beliefs, 2, () => 0)).toEqual(new Map([[1, 2]]));
    expect(planTake(beliefs, 2, () => 0.99)).toEqual(new Map([[3, 2]]));
    const picks = new Set(
      Array.from({ length: 50 }, (_, i) => [...(planTake(beliefs, 1, () => i / 50) ?? new Map()).keys()][0]),
    );
    expect(picks).toEqual(new Set([1, 2, 3]));
  });

  it('spans several shards, largest first, when no single one is enough', () => {
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

  it('treats unknown shards as worth trying and learns from what DynamoDB returns', () => {
    const stock = new StockBeliefs(3);
    expect(stock.plan(1, () => 0)).toEqual(new Map([[0, 1]]));
    stock.observed(0, 0);
    stock.observed(1, 0);
    expect(stock.plan(1, () => 0)).toEqual(new Map([[2, 1]]));
    stock.taken(new Map([[2, 1]]));
    expect(stock.snapshot()[2]).toBe(Number.POSITIVE_INFINITY);
  });

  it('remembers a sell-out only for the memo period after a consistent read saw every shard empty', () => {
    const stock = new StockBeliefs(2);
    stock.refreshed([0, 0], 1_000, 500);
    expect(stock.knownSoldOut(1_400)).toBe(true);
    expect(stock.knownSoldOut(1_500)).toBe(false);
    stock.refreshed([0, 1], 2_000, 500);
    expect(stock.knownSoldOut(2_100)).toBe(false);
    expect(stock.total()).toBe(1);
  });
});

describe('sales', () => {
  it('splits stock evenly with the remainder on the first shards', () => {
    expect(splitStock(10, 4)).toEqual([3, 3, 2, 2]);
    expect(splitStock(100, 8).reduce((a, b) => a + b)).toBe(100);
    expect(() => splitStock(3, 4)).toThrow(/shards/);
    expect(() => splitStock(100, 0)).toThrow(/shards/);
  });

  it('derives enough shards to spread writes, within a cap', () => {
    expect(deriveShardCount(1)).toBe(1);
    expect(deriveShardCount(100)).toBe(4);
    expect(deriveShardCount(1_000_000)).toBe(32);
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

describe('decoding CancellationReasons', () => {
  const layout = [
    { kind: 'order' as const },
    { kind: 'counter' as const },
    { kind: 'shard' as const, shard: 3, quantity: 2 },
  ];
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

  it('reports a short shard with what it held', () => {
    expect(
      decodeCancellation(layout, [none, none, { Code: 'ConditionalCheckFailed', Item: { available: 1 } }]),
    ).toEqual({
      kind: 'shortShards',
      observed: [{ shard: 3, units: 1 }],
    });
  });

  it('reads a shard that had enough units but still refused as the sale window', () => {
    expect(
      decodeCancellation(layout, [none, none, { Code: 'ConditionalCheckFailed', Item: { available: 9 } }]),
    ).toEqual({ kind: 'notActive' });
  });

  it('maps conflicts and throttling to contention', () => {
    expect(decodeCancellation(layout, [{ Code: 'TransactionConflict' }, none, none])).toEqual({
      kind: 'contention',
    });
    expect(decodeCancellation(layout, [none, none, { Code: 'ThrottlingError' }])).toEqual({
      kind: 'contention',
    });
  });

  it('refuses to guess at reasons it does not know', () => {
    expect(() => decodeCancellation(layout, [{ Code: 'ValidationError' }, none, none])).toThrow(/Unexpected/);
  });
});
