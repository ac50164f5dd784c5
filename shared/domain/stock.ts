import { NumbersInFlight } from './in-flight.ts';

/**
 * A sale's stock lives in K dispensers. Each hands out numbers: `issued` counts the numbers given
 * so far and `cap` how many it may give. A buyer takes numbers with one plain conditional update
 * (`issued + q <= cap`) and then claims each number with a unit item; releases and returns raise
 * `cap`. So a dispenser's remaining stock is `cap − issued`, and a number is sold at most once
 * because its unit item is put only if absent.
 */
export interface DispenserState {
  issued: number;
  cap: number;
}

export const remainingOf = (d: DispenserState): number => Math.max(0, d.cap - d.issued);

/** Numbers `first … first + count − 1` taken from one dispenser. */
export interface NumberRange {
  dispenser: number;
  first: number;
  count: number;
}

/** A take plan: dispenser index → quantity. */
export type TakePlan = Map<number, number>;

/**
 * 100 items per DynamoDB transaction: the claim holds one unit item per number plus the order and
 * the buyer's counter, so one order takes at most 98 units.
 */
export const MAX_UNITS_PER_ORDER = 98;

/** Every number of some ranges, in order. */
export function numbersOf(ranges: readonly NumberRange[]): { dispenser: number; number: number }[] {
  return ranges.flatMap((r) =>
    Array.from({ length: r.count }, (_, i) => ({ dispenser: r.dispenser, number: r.first + i })),
  );
}

/** Same numbers, whatever the order the ranges were listed in. */
export function sameRanges(a: readonly NumberRange[], b: readonly NumberRange[]): boolean {
  const key = (ranges: readonly NumberRange[]) =>
    ranges
      .map((r) => `${r.dispenser}:${r.first}:${r.count}`)
      .sort()
      .join(',');
  return key(a) === key(b);
}

/**
 * Picks where to take `quantity` numbers from what this process believes each dispenser still
 * holds (Infinity = not known yet). Prefers one dispenser chosen at random among those that can
 * cover the whole quantity, so concurrent buyers spread; falls back to several, largest first,
 * when no single one is enough. Returns undefined when the beliefs cannot cover it.
 */
export function planTake(
  beliefs: readonly number[],
  quantity: number,
  random: () => number = Math.random,
): TakePlan | undefined {
  const able = beliefs.flatMap((units, dispenser) => (units >= quantity ? [dispenser] : []));
  if (able.length > 0) {
    const dispenser = able[Math.floor(random() * able.length)] as number;
    return new Map([[dispenser, quantity]]);
  }
  const order = beliefs
    .map((units, dispenser) => ({ units, dispenser }))
    .filter((d) => d.units > 0)
    .sort((a, b) => b.units - a.units || a.dispenser - b.dispenser);
  const plan: TakePlan = new Map();
  let missing = quantity;
  for (const { units, dispenser } of order) {
    const take = Math.min(units, missing);
    plan.set(dispenser, take);
    missing -= take;
    if (missing === 0) return plan;
  }
  return undefined;
}

/**
 * What the last consistent read concluded when nothing was left to take: `soldOut` when no number
 * could come back either, `settling` while some are in flight (taken, neither claimed nor returned).
 */
export type StockVerdict = 'soldOut' | 'settling';

/**
 * What one process believes each dispenser of a sale still holds. Beliefs only ever err high
 * between reads (others take numbers); a failed take corrects one from the item DynamoDB hands
 * back, and a consistent read of every dispenser replaces them all.
 */
export class StockBeliefs {
  private beliefs: number[];
  private verdict?: { kind: StockVerdict; until: number };
  /** Numbers issued but not yet settled, as this process last checked them. */
  readonly inFlight: NumbersInFlight;

  constructor(dispensers: number) {
    this.beliefs = Array.from({ length: dispensers }, () => Number.POSITIVE_INFINITY);
    this.inFlight = new NumbersInFlight(dispensers);
  }

  snapshot(): readonly number[] {
    return this.beliefs;
  }

  plan(quantity: number, random?: () => number): TakePlan | undefined {
    return planTake(this.beliefs, quantity, random);
  }

  /** Numbers this process took (or took back) from a dispenser. */
  taken(dispenser: number, count: number): void {
    const belief = this.beliefs[dispenser];
    if (belief !== undefined) this.beliefs[dispenser] = Math.max(0, belief - count);
  }

  /** The dispenser's real remaining stock, as DynamoDB just reported it. */
  observed(dispenser: number, remaining: number): void {
    if (dispenser >= 0 && dispenser < this.beliefs.length) this.beliefs[dispenser] = remaining;
  }

  /** A consistent read of every dispenser replaces every belief (and any verdict). */
  refreshed(states: readonly DispenserState[]): void {
    this.beliefs = states.map(remainingOf);
    this.verdict = undefined;
  }

  /** Answers need no read for `memoMs`: declines, expiries and returns may change it after that. */
  concluded(kind: StockVerdict, now: number, memoMs: number): void {
    this.verdict = memoMs > 0 ? { kind, until: now + memoMs } : undefined;
  }

  /** The verdict of a recent consistent read that left nothing to take, if it still holds. */
  known(now: number): StockVerdict | undefined {
    return this.verdict && now < this.verdict.until ? this.verdict.kind : undefined;
  }

  total(): number {
    return this.beliefs.reduce((a, b) => a + b, 0);
  }
}
