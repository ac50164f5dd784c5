/** A take of units from shards: shard index → quantity. */
export type TakePlan = Map<number, number>;

/**
 * Picks where to take `quantity` units, from what this process believes each shard holds
 * (Infinity = not known yet). Prefers one shard chosen at random among those that can cover the
 * whole quantity, so concurrent buyers spread over the shards; falls back to several shards,
 * largest first, when no single one is enough. Returns undefined when the beliefs cannot cover it.
 */
export function planTake(
  beliefs: readonly number[],
  quantity: number,
  random: () => number = Math.random,
): TakePlan | undefined {
  const able = beliefs.flatMap((units, shard) => (units >= quantity ? [shard] : []));
  if (able.length > 0) {
    const shard = able[Math.floor(random() * able.length)] as number;
    return new Map([[shard, quantity]]);
  }
  const order = beliefs
    .map((units, shard) => ({ units, shard }))
    .filter((s) => s.units > 0)
    .sort((a, b) => b.units - a.units || a.shard - b.shard);
  const plan: TakePlan = new Map();
  let missing = quantity;
  for (const { units, shard } of order) {
    const take = Math.min(units, missing);
    plan.set(shard, take);
    missing -= take;
    if (missing === 0) return plan;
  }
  return undefined;
}

/**
 * What one process knows about a sale's shards. Beliefs only ever err high between refreshes
 * (others take units); a failed take corrects them from the value DynamoDB returns, and a
 * consistent read replaces them all.
 */
export class StockBeliefs {
  private beliefs: number[];
  private soldOutUntil = 0;

  constructor(shards: number) {
    this.beliefs = Array.from({ length: shards }, () => Number.POSITIVE_INFINITY);
  }

  snapshot(): readonly number[] {
    return this.beliefs;
  }

  plan(quantity: number, random?: () => number): TakePlan | undefined {
    return planTake(this.beliefs, quantity, random);
  }

  taken(plan: TakePlan): void {
    for (const [shard, units] of plan) this.beliefs[shard] = Math.max(0, (this.beliefs[shard] ?? 0) - units);
  }

  observed(shard: number, units: number): void {
    if (shard >= 0 && shard < this.beliefs.length) this.beliefs[shard] = units;
  }

  refreshed(units: readonly number[], now: number, memoMs: number): void {
    this.beliefs = [...units];
    this.soldOutUntil = units.every((u) => u <= 0) ? now + memoMs : 0;
  }

  /** True while a recent consistent read saw every shard empty: refusals need no database write. */
  knownSoldOut(now: number): boolean {
    return now < this.soldOutUntil;
  }

  total(): number {
    return this.beliefs.reduce((a, b) => a + b, 0);
  }
}
