import { describe, expect, it } from 'vitest';
import { type DispenserState, type NumberRange, numbersOf } from '../../shared/domain/stock.ts';
import type { SweepWatermark } from '../../shared/ports.ts';
import { rangesOf, sweep } from '../../shared/usecases/sweep.ts';

/** One sale's dispensers, unit items and watermarks in memory, with DynamoDB's put-if-absent rule. */
function world(dispensers: DispenserState[]) {
  const units = new Map<string, string>();
  const marks = new Map<number, SweepWatermark>();
  const checks: [number, number, number][] = [];
  const deps = {
    sales: { readDispensers: async () => dispensers.map((d) => ({ ...d })) },
    stock: {
      giveBack: async (_saleId: string, ranges: readonly NumberRange[]) => {
        let returned = 0;
        for (const { dispenser, number } of numbersOf(ranges)) {
          if (units.has(`${dispenser}#${number}`)) continue;
          units.set(`${dispenser}#${number}`, 'returned');
          (dispensers[dispenser] as DispenserState).cap++;
          returned++;
        }
        return returned;
      },
    },
    sweep: {
      liveSales: async () => [{ saleId: 's1', dispensers: dispensers.length }],
      watermarks: async (_saleId: string, n: number) =>
        Array.from(
          { length: n },
          (_, d) => marks.get(d) ?? { checkedTo: 0, pendingIssued: 0, pendingSince: 0 },
        ),
      saveWatermark: async (_saleId: string, d: number, mark: SweepWatermark) => void marks.set(d, mark),
      unitsPresent: async (_saleId: string, d: number, from: number, to: number) => {
        checks.push([d, from, to]);
        const present = new Set<number>();
        for (let n = from; n <= to; n++) if (units.has(`${d}#${n}`)) present.add(n);
        return present;
      },
    },
  };
  const take = (d: number, q: number) => {
    const dispenser = dispensers[d] as DispenserState;
    dispenser.issued += q;
    return { first: dispenser.issued - q + 1, count: q };
  };
  const claim = (d: number, first: number, count: number) => {
    for (let n = first; n < first + count; n++) units.set(`${d}#${n}`, 'claimed');
  };
  return { deps, units, marks, checks, take, claim, dispensers };
}

const options = { graceMs: 30_000, maxNumbersPerDispenser: 500 };

describe('sweep', () => {
  it('returns only numbers with no unit item, only after the grace, and checks each number once', async () => {
    const w = world([
      { issued: 0, cap: 5 },
      { issued: 0, cap: 5 },
    ]);
    const a = w.take(0, 2);
    w.claim(0, a.first, a.count);
    w.take(0, 1); // crashed before its claim
    const b = w.take(1, 2);
    w.claim(1, b.first, b.count);

    expect(await sweep(w.deps, 0, options)).toEqual({ sales: 1, checked: 0, returned: 0 });
    // A number taken after the first look waits for its own grace.
    w.take(1, 1);
    expect((await sweep(w.deps, 29_999, options)).returned).toBe(0);
    expect(await sweep(w.deps, 30_000, options)).toEqual({ sales: 1, checked: 5, returned: 1 });
    expect(w.units.get('0#3')).toBe('returned');
    expect(w.dispensers[0]).toEqual({ issued: 3, cap: 6 });
    expect(w.checks).toEqual([
      [0, 1, 3],
      [1, 1, 2],
    ]);
    // Dispenser 1's number 3 became pending at 30 s; it goes back after its own grace, once.
    expect((await sweep(w.deps, 59_999, options)).returned).toBe(0);
    expect(await sweep(w.deps, 60_000, options)).toEqual({ sales: 1, checked: 1, returned: 1 });
    expect(await sweep(w.deps, 120_000, options)).toEqual({ sales: 1, checked: 0, returned: 0 });
    expect(w.marks.get(1)).toMatchObject({ checkedTo: 3, pendingIssued: 3 });
  });

  it('never returns a number a late claim won, and resumes a long backlog where it stopped', async () => {
    const w = world([{ issued: 0, cap: 2_000 }]);
    w.take(0, 1_200);
    await sweep(w.deps, 0, options);
    w.claim(0, 700, 1);
    const first = await sweep(w.deps, 30_000, options);
    expect(first).toEqual({ sales: 1, checked: 500, returned: 500 });
    const second = await sweep(w.deps, 30_001, options);
    expect(second).toEqual({ sales: 1, checked: 500, returned: 499 });
    expect(w.units.get('0#700')).toBe('claimed');
    expect((await sweep(w.deps, 30_002, options)).returned).toBe(200);
    expect(w.dispensers[0]?.cap).toBe(2_000 + 1_199);
  });

  it('groups missing numbers into ranges', () => {
    expect(rangesOf(2, 5, 10, new Set([7, 8]))).toEqual([
      { dispenser: 2, first: 5, count: 2 },
      { dispenser: 2, first: 9, count: 2 },
    ]);
    expect(rangesOf(0, 1, 3, new Set([1, 2, 3]))).toEqual([]);
  });
});
