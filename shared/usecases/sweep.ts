import type { NumberRange } from '../domain/stock.ts';
import type { SaleStore, StockStore, SweepStore, SweepWatermark } from '../ports.ts';

export interface SweepDeps {
  sales: Pick<SaleStore, 'readDispensers'>;
  stock: Pick<StockStore, 'giveBack'>;
  sweep: SweepStore;
}

export interface SweepOptions {
  /** How old a number must be before it counts as abandoned: longer than any checkout's budget. */
  graceMs: number;
  /** Bounds one run's work per dispenser; the watermark resumes where it stopped. */
  maxNumbersPerDispenser: number;
}

export interface SweepReport {
  sales: number;
  checked: number;
  returned: number;
}

/**
 * Gives back numbers that were taken but never claimed (a checkout that crashed, or gave up on an
 * unknown outcome, between the take and the claim). Each dispenser keeps a watermark: the issued
 * count seen at one run becomes "pending", and a later run past the grace checks those numbers
 * once against the claims table and returns the ones with no unit item. The return marker and a
 * late claim both need the unit item absent, so exactly one of them can win: a number is never
 * sold twice nor returned twice.
 */
export async function sweep(deps: SweepDeps, now: number, options: SweepOptions): Promise<SweepReport> {
  const report: SweepReport = { sales: 0, checked: 0, returned: 0 };
  for (const { saleId, dispensers } of await deps.sweep.liveSales(now)) {
    report.sales++;
    const [states, marks] = await Promise.all([
      deps.sales.readDispensers(saleId, dispensers, true),
      deps.sweep.watermarks(saleId, dispensers),
    ]);
    for (let dispenser = 0; dispenser < dispensers; dispenser++) {
      const issued = states[dispenser]?.issued ?? 0;
      const before = marks[dispenser] ?? { checkedTo: 0, pendingIssued: 0, pendingSince: 0 };
      let mark: SweepWatermark = before;
      if (mark.pendingIssued > mark.checkedTo && now - mark.pendingSince >= options.graceMs) {
        const from = mark.checkedTo + 1;
        const to = Math.min(mark.pendingIssued, mark.checkedTo + options.maxNumbersPerDispenser);
        const present = await deps.sweep.unitsPresent(saleId, dispenser, from, to);
        const abandoned = rangesOf(dispenser, from, to, present);
        if (abandoned.length > 0) report.returned += await deps.stock.giveBack(saleId, abandoned);
        report.checked += to - from + 1;
        mark = { ...mark, checkedTo: to };
      }
      if (mark.pendingIssued <= mark.checkedTo && issued > mark.checkedTo) {
        mark = { checkedTo: mark.checkedTo, pendingIssued: issued, pendingSince: now };
      }
      if (mark !== before) await deps.sweep.saveWatermark(saleId, dispenser, mark);
    }
  }
  return report;
}

/** The numbers `from … to` that have no unit item, as contiguous ranges. */
export function rangesOf(dispenser: number, from: number, to: number, present: Set<number>): NumberRange[] {
  const ranges: NumberRange[] = [];
  for (let n = from; n <= to; n++) {
    if (present.has(n)) continue;
    const last = ranges.at(-1);
    if (last && last.first + last.count === n) last.count++;
    else ranges.push({ dispenser, first: n, count: 1 });
  }
  return ranges;
}
