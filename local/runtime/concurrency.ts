/**
 * Lambda's per-function concurrency, played on one machine: at most `limit` invocations in flight.
 * One that finds them all busy may wait up to `maxWaitMs` for a slot, first come first served, so
 * a herd that arrives in the same millisecond is served in order when the work is short; it is
 * refused at once (Lambda's TooManyRequestsException) when the wait it can expect — the queue ahead
 * of it times how long a slot is recently held — exceeds that bound, so sustained overload is
 * answered RETRY immediately rather than after a wait that ends in RETRY anyway.
 */
export class ConcurrencyGate {
  private running = 0;
  private readonly waiters: { admit: () => void; timer: NodeJS.Timeout }[] = [];
  /** Moving average of how long an invocation holds its slot (0 until one has finished). */
  private heldMs = 0;

  constructor(
    readonly limit: number,
    readonly maxWaitMs = 0,
  ) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`A concurrency limit must be ≥ 1, got ${limit}`);
    if (!(Number.isFinite(maxWaitMs) && maxWaitMs >= 0))
      throw new Error(`A queue wait must be a number of milliseconds ≥ 0, got ${maxWaitMs}`);
  }

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiters.length;
  }

  /** True with a slot taken; false when refused (at once, or once `maxWaitMs` passed). */
  enter(): Promise<boolean> {
    if (this.running < this.limit) {
      this.running++;
      return Promise.resolve(true);
    }
    // Slots free at `limit` per `heldMs`: the n-th in line gets one after n of them. (Counting a
    // whole `heldMs` per `limit` waiters refused a closed loop of 64 buyers on 32 slots one answer
    // in 40, each told to come back 3 s later, while the line would have moved within ~300 ms.)
    const expectedWaitMs = ((this.waiters.length + 1) / this.limit) * this.heldMs;
    if (this.maxWaitMs === 0 || expectedWaitMs > this.maxWaitMs) return Promise.resolve(false);
    return new Promise<boolean>((done) => {
      const waiter = {
        admit: () => done(true),
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          done(false);
        }, this.maxWaitMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Frees a slot held for `heldMs`: the next waiter, if any, takes it over. */
  leave(heldMs = 0): void {
    this.heldMs = this.heldMs === 0 ? heldMs : 0.8 * this.heldMs + 0.2 * heldMs;
    const next = this.waiters.shift();
    if (next) {
      clearTimeout(next.timer);
      next.admit();
    } else if (this.running > 0) this.running--;
  }
}

/**
 * Buyers are being served: some gate has a request waiting for a slot, or is at half its limit or
 * more. What the local consumers give way to (pollers.ts).
 */
export function crowded(gates: Iterable<ConcurrencyGate>): boolean {
  for (const gate of gates) if (gate.queued > 0 || gate.inFlight * 2 >= gate.limit) return true;
  return false;
}

export type Invocation<T> =
  | { outcome: 'done'; value: T }
  | { outcome: 'throttled' }
  | { outcome: 'timedOut' };

/**
 * Runs `work` inside the gate and within `timeoutMs`. A refused invocation never starts; one past
 * its budget is answered `timedOut` at once, while its slot stays taken until the work really ends
 * (a local handler cannot be frozen like a Lambda instance, and it still uses the machine).
 */
export async function invokeWithin<T>(
  gate: ConcurrencyGate | undefined,
  timeoutMs: number,
  work: () => Promise<T>,
): Promise<Invocation<T>> {
  if (gate && !(await gate.enter())) return { outcome: 'throttled' };
  const started = performance.now();
  const running = (async () => work())().finally(() => gate?.leave(performance.now() - started));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Invocation<T>>((done) => {
    timer = setTimeout(() => done({ outcome: 'timedOut' }), timeoutMs);
  });
  return Promise.race([running.then((value) => ({ outcome: 'done' as const, value })), timeout]).finally(() =>
    clearTimeout(timer),
  );
}
