/**
 * Lambda's per-function concurrency: at most `limit` invocations in flight; one more is refused at
 * once (Lambda's TooManyRequestsException), never queued.
 */
export class ConcurrencyGate {
  private running = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`A concurrency limit must be ≥ 1, got ${limit}`);
  }

  get inFlight(): number {
    return this.running;
  }

  tryEnter(): boolean {
    if (this.running >= this.limit) return false;
    this.running++;
    return true;
  }

  leave(): void {
    if (this.running > 0) this.running--;
  }
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
export function invokeWithin<T>(
  gate: ConcurrencyGate | undefined,
  timeoutMs: number,
  work: () => Promise<T>,
): Promise<Invocation<T>> {
  if (gate && !gate.tryEnter()) return Promise.resolve({ outcome: 'throttled' });
  const running = (async () => work())().finally(() => gate?.leave());
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Invocation<T>>((done) => {
    timer = setTimeout(() => done({ outcome: 'timedOut' }), timeoutMs);
  });
  return Promise.race([running.then((value) => ({ outcome: 'done' as const, value })), timeout]).finally(() =>
    clearTimeout(timer),
  );
}
