/**
 * The time a request may spend. Every database call carries a signal that aborts when the budget
 * is spent, and loops stop early enough to keep `reserveMs` for settling an unknown outcome.
 */
export class Budget {
  private readonly deadline: number;

  constructor(
    totalMs: number,
    private readonly clock: () => number = Date.now,
    /** Kept back from loops for the last consistent read of the idempotency record. */
    readonly reserveMs = Math.min(500, totalMs / 4),
  ) {
    this.deadline = clock() + totalMs;
  }

  left(): number {
    return this.deadline - this.clock();
  }

  /** True while there is time for another try beyond the reserve. */
  canTry(): boolean {
    return this.left() > this.reserveMs;
  }

  /** Aborts a call when the budget is spent (at least 1 ms, so a call is never born aborted). */
  signal(): AbortSignal {
    return AbortSignal.timeout(Math.max(1, Math.ceil(this.left())));
  }

  /** For the last calls before answering (settling, giving numbers back): at least the reserve. */
  closingSignal(): AbortSignal {
    return AbortSignal.timeout(Math.max(this.reserveMs, Math.ceil(this.left())));
  }

  /** A pause that never outlasts what is left beyond the reserve. */
  pause(ms: number): number {
    return Math.max(0, Math.min(ms, this.left() - this.reserveMs));
  }
}
