import { describe, expect, it } from 'vitest';
import { busiestPartitionKeys, endToEndModel, endToEndTargets } from '../../bench/capacity/end-to-end.ts';
import { EventQueue, LambdaPool, TokenBucket } from '../../bench/capacity/engine.ts';
import { capacityModel, formatCapacity } from '../../bench/capacity/model.ts';
import {
  type Design,
  type Settings,
  stackSettings,
  withoutApiLimits,
} from '../../bench/capacity/settings.ts';
import { simulate } from '../../bench/capacity/simulate.ts';

/** Short runs with nothing but the part under test binding: no API limits, no releases, no cold starts. */
function isolated(design: Design, k: number, windowMs: number, change: Partial<Settings> = {}): Settings {
  return {
    ...withoutApiLimits(stackSettings(design, k, windowMs)),
    demandPerSecond: 5_000,
    durationS: 1.5,
    warmupS: 0.5,
    releasesPerSecond: 0,
    coldStartMs: { placeOrder: 0, authorizer: 0 },
    placeOrderReserved: 1_000,
    authorizerReserved: 1_000,
    ...change,
  };
}

describe('capacity model: one item', () => {
  it('takes at most one transaction per window on one shared item, and most of that under overload', () => {
    for (const windowMs of [5, 10, 20]) {
      const run = simulate(isolated('today', 1, windowMs));
      expect(run.checkoutsPerSecond).toBeLessThanOrEqual(1000 / windowMs);
      expect(run.checkoutsPerSecond).toBeGreaterThan(0.4 * (1000 / windowMs));
      expect(run.limitedBy).toBe('stock items: transaction conflicts');
      expect(run.conflictsPerSecond).toBeGreaterThan(run.checkoutsPerSecond);
    }
  });

  it('serialises plain updates on one item up to its partition’s 1,000 write units per second', () => {
    const run = simulate(isolated('dispensers', 1, 2));
    // The partition's bucket holds 0.05 s of units: at most 50 more than the rate over a 1 s window.
    expect(run.checkoutsPerSecond).toBeLessThanOrEqual(1050);
    expect(run.checkoutsPerSecond).toBeGreaterThan(950);
    expect(run.conflictsPerSecond).toBe(0);
    expect(run.limitedBy).toBe('stock items WCU');
  });

  it('refuses a plain update on an item while a release transaction holds it', () => {
    // Below the partition's rate, so releases are not starved of write units.
    const quiet = simulate(isolated('dispensers', 1, 20, { demandPerSecond: 500 }));
    const released = simulate(isolated('dispensers', 1, 20, { demandPerSecond: 500, releasesPerSecond: 40 }));
    expect(quiet.conflictsPerSecond).toBe(0);
    expect(released.conflictsPerSecond).toBeGreaterThan(100);
    expect(released.p99Ms).toBeGreaterThan(quiet.p99Ms + 20);
  });
});

describe('capacity model: wider limits', () => {
  it('lets the table quota bind once K is large', () => {
    const split = simulate(isolated('dispensers', 128, 5, { demandPerSecond: 20_000 }));
    // Dispenser (1 WCU) + buyer counter (2) in the sales table: 40,000 / 3 per second at most.
    expect(split.limitedBy).toBe('sales table WCU');
    expect(split.checkoutsPerSecond).toBeLessThanOrEqual(Math.ceil(40_000 / 3) + 700);
    expect(split.checkoutsPerSecond).toBeGreaterThan(0.9 * (40_000 / 3));
    const oneTable = simulate(
      isolated('dispensers', 128, 5, {
        demandPerSecond: 20_000,
        tableOf: { stock: 'orders', counter: 'orders', claim: 'orders' },
      }),
    );
    // Everything in one table: 1 + 2 + 2 + 2 = 7 WCU per checkout.
    expect(oneTable.limitedBy).toBe('orders table WCU');
    expect(oneTable.checkoutsPerSecond).toBeLessThanOrEqual(Math.ceil(40_000 / 7) + 300);
    expect(oneTable.checkoutsPerSecond).toBeGreaterThan(0.9 * (40_000 / 7));
  });

  it('lets the API account quota bind the dispenser design, and Lambda concurrency when it is short', () => {
    const shortRun = { durationS: 2, warmupS: 1, releasesPerSecond: 0 };
    // The checkout's method throttle raised above the account quota (-c checkoutRateLimit), so the account's binds.
    const stack = simulate({
      ...stackSettings('dispensers', 64, 10),
      apiCheckout: { rateLimit: 12_000, burstLimit: 6_000 },
      ...shortRun,
    });
    expect(stack.limitedBy).toBe('API Gateway account quota');
    expect(stack.checkoutsPerSecond).toBeGreaterThan(9_500);
    expect(stack.checkoutsPerSecond).toBeLessThanOrEqual(10_300);
    const fewEnvironments = simulate({
      ...withoutApiLimits(stackSettings('dispensers', 64, 10)),
      ...shortRun,
      placeOrderReserved: 100,
    });
    expect(fewEnvironments.limitedBy).toBe('placeOrder concurrency');
    expect(fewEnvironments.checkoutsPerSecond).toBeLessThan(4_000);
  });

  it('sells exactly a finite stock, never more, in both designs', () => {
    for (const design of ['today', 'dispensers'] as const) {
      const run = simulate(isolated(design, 8, 5, { unitsPerItem: 100, durationS: 5 }));
      expect(run.unitsSold).toBe(800);
      expect(run.soldOutAtS).not.toBeNull();
      expect(run.soldOutAtS).toBeLessThan(5);
    }
  });

  it('gives the same result for the same seed, and another for another seed', () => {
    const settings = isolated('today', 4, 10);
    expect(simulate(settings)).toEqual(simulate(settings));
    expect(simulate({ ...settings, seed: 99 })).not.toEqual(simulate(settings));
  });

  it('prints the same table for the same settings, with every K and window of the sweep', () => {
    const tiny = (s: Settings): Settings => ({ ...s, demandPerSecond: 2_000, durationS: 0.3, warmupS: 0.1 });
    const first = capacityModel(tiny);
    expect(first.rows).toHaveLength(2 * 6 * 4);
    expect(formatCapacity(capacityModel(tiny))).toBe(formatCapacity(first));
    expect(first.assumptions.join(' ')).toContain('TransactionConflict');
  });
});

describe('capacity model: engine', () => {
  it('adds at most 1,000 Lambda environments per 10 s, within reserved concurrency', () => {
    const pool = new LambdaPool(2_500, 1_000, 0);
    const early = Array.from({ length: 1_200 }, () => pool.acquire(5_000));
    expect(early.filter((e) => e === 'cold')).toHaveLength(1_000);
    expect(early.at(-1)).toBeUndefined();
    expect(pool.acquire(10_000)).toBe('cold');
    pool.release();
    expect(pool.acquire(10_000)).toBe('warm');
    for (let i = 0; i < 5_000; i++) pool.acquire(60_000);
    expect(pool.busy).toBe(2_500);
  });

  it('refills a token bucket at its rate and runs events in time order', () => {
    const bucket = new TokenBucket(1000, 10);
    expect(bucket.has(10, 0)).toBe(true);
    bucket.take(10);
    expect(bucket.has(1, 0.5)).toBe(false);
    expect(bucket.has(5, 5)).toBe(true);
    const q = new EventQueue();
    const seen: number[] = [];
    for (const at of [5, 1, 3, 1]) q.at(at, () => seen.push(at));
    q.runUntil(4);
    expect(seen).toEqual([1, 1, 3]);
    expect(q.now).toBe(4);
  });
});

describe('capacity model: end to end (issue 16 item 4)', () => {
  const keys = [
    'name',
    'quotas',
    'units',
    'buyers',
    'processorLatencyMs',
    'processorRatePerSec',
    'checkoutsPerSecond',
    'chargesPerSecond',
    'sellOutSeconds',
    'chargedAllSeconds',
    'expiredFromBacklog',
    'binding',
  ];
  const rows = endToEndModel();

  it('gives every key for every scenario, under default and raised quotas, at 100 and 1,000 charges/s', () => {
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const row of rows) for (const key of keys) expect(row, `${row.name}: ${key}`).toHaveProperty(key);
    expect(new Set(rows.map((r) => r.quotas))).toEqual(new Set(['default', 'raised']));
    expect(new Set(rows.map((r) => r.processorRatePerSec))).toEqual(new Set([100, 1_000]));
    expect(JSON.parse(JSON.stringify({ endToEnd: rows })).endToEnd).toHaveLength(rows.length);
  });

  it('meets its targets: raised quotas ≥ 10,000 checkouts/s and charges at the processor’s limit; none expired', () => {
    expect(endToEndTargets(rows)).toEqual({ met: true, misses: [] });
    for (const r of rows) expect(r.expiredFromBacklog).toBe(0);
    // The old rule (hold from checkout) would have expired part of the 100/s drop's backlog.
    expect(rows.find((r) => r.processorRatePerSec === 100)?.expiredUnderOldHold).toBeGreaterThan(0);
  });

  it('counts the Lambda authorizer’s invocations against the account’s request rate, the native one not', () => {
    const at = (authorizer: string) =>
      rows.find(
        (r) => r.quotas === 'default' && r.processorRatePerSec === 100 && r.authorizer === authorizer,
      );
    const lambda = at('lambda')?.stages['Lambda requests per account (10 × concurrency quota)'] ?? 0;
    const cognito = at('cognito')?.stages['Lambda requests per account (10 × concurrency quota)'] ?? 0;
    expect(lambda).toBeLessThan(cognito * 0.6);
  });

  it('puts more dispenser keys on the busiest partition than one when 64 keys hash onto 40 partitions', () => {
    expect(busiestPartitionKeys(64, 40)).toBeGreaterThan(1);
    expect(busiestPartitionKeys(64, 10_000)).toBe(1);
  });
});
