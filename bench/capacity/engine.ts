/**
 * The discrete-event machinery of the capacity model: a seeded PRNG, an event queue in simulated
 * milliseconds, token buckets (API Gateway throttles, partitions, tables) and Lambda's environments.
 * Nothing here knows about checkouts.
 */

/** mulberry32: small, fast and seedable, so the same settings always give the same table. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Scheduled {
  at: number;
  seq: number;
  run: () => void;
}

/** A binary min-heap of callbacks by time; ties run in the order they were scheduled. */
export class EventQueue {
  now = 0;
  private heap: Scheduled[] = [];
  private seq = 0;

  at(at: number, run: () => void): void {
    const item = { at, seq: this.seq++, run };
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, h[parent] as Scheduled)) break;
      h[i] = h[parent] as Scheduled;
      i = parent;
    }
    h[i] = item;
  }

  after(delayMs: number, run: () => void): void {
    this.at(this.now + delayMs, run);
  }

  /** Runs events in time order until none is left before `untilMs`. */
  runUntil(untilMs: number): void {
    const h = this.heap;
    while (h.length > 0 && (h[0] as Scheduled).at < untilMs) {
      const top = h[0] as Scheduled;
      const last = h.pop() as Scheduled;
      if (h.length > 0) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= h.length) break;
          const r = l + 1;
          const c = r < h.length && before(h[r] as Scheduled, h[l] as Scheduled) ? r : l;
          if (!before(h[c] as Scheduled, last)) break;
          h[i] = h[c] as Scheduled;
          i = c;
        }
        h[i] = last;
      }
      this.now = top.at;
      top.run();
    }
    this.now = untilMs;
  }
}

const before = (a: Scheduled, b: Scheduled) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** A token bucket refilled continuously at `perSecond`, holding at most `size` (starts full). */
export class TokenBucket {
  private tokens: number;
  private last = 0;
  constructor(
    readonly perSecond: number,
    private readonly size: number,
  ) {
    this.tokens = size;
  }

  has(amount: number, nowMs: number): boolean {
    if (!Number.isFinite(this.perSecond)) return true;
    this.tokens = Math.min(this.size, this.tokens + ((nowMs - this.last) * this.perSecond) / 1000);
    this.last = nowMs;
    return this.tokens >= amount;
  }

  /** Call only after `has` said yes at the same instant. */
  take(amount: number): void {
    if (Number.isFinite(this.perSecond)) this.tokens -= amount;
  }
}

/**
 * One Lambda function's execution environments: reserved concurrency caps them, and at most
 * `newPer10s` new ones may start per 10 s (Lambda's scaling rate per function).
 */
export class LambdaPool {
  private environments: number;
  private idle: number;
  private readonly provisioned: number;
  busy = 0;
  constructor(
    private readonly reserved: number,
    private readonly newPer10s: number,
    provisioned: number,
  ) {
    this.provisioned = Math.min(provisioned, reserved);
    this.environments = this.provisioned;
    this.idle = this.environments;
  }

  /** A warm or a new (cold) environment, or undefined: the invocation is throttled. */
  acquire(nowMs: number): 'warm' | 'cold' | undefined {
    if (this.idle > 0) {
      this.idle--;
      this.busy++;
      return 'warm';
    }
    const scalingCap = this.provisioned + this.newPer10s * (1 + Math.floor(nowMs / 10_000));
    if (this.environments >= Math.min(this.reserved, scalingCap)) return undefined;
    this.environments++;
    this.busy++;
    return 'cold';
  }

  release(): void {
    this.busy--;
    this.idle++;
  }

  get limit(): number {
    return this.reserved;
  }
}
