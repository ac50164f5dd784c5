import type { DispenserState, NumberRange } from './stock.ts';

/** Numbers `from … to` of one dispenser, to be checked for a unit item. */
export interface NumberSpan {
  dispenser: number;
  from: number;
  to: number;
}

/**
 * Numbers a sale's dispensers issued that have no unit item yet: taken by a checkout that has
 * neither claimed them (an order) nor returned them. While any exist, "sold out" may not be true
 * yet: they come back if that checkout fails. Kept per process: the numbers from 1 up to
 * `settledTo` all have a unit item, and a unit item is never removed, so only the tail past it is
 * ever read again. A number seen unsettled for longer than any checkout holds one was abandoned (a
 * crash, a lost answer) and may be given back: the return and a late claim both need the unit item
 * absent, so exactly one of them wins.
 */
export class NumbersInFlight {
  private readonly settledTo: number[];
  /** `dispenser:number` → when this process first saw it unsettled. */
  private readonly firstSeen = new Map<string, number>();

  constructor(dispensers: number) {
    this.settledTo = Array.from({ length: dispensers }, () => 0);
  }

  /** The numbers still to check: past each dispenser's settled prefix, up to what it issued. */
  unchecked(states: readonly DispenserState[]): NumberSpan[] {
    return states.flatMap((state, dispenser) => {
      const from = (this.settledTo[dispenser] ?? 0) + 1;
      return state.issued >= from ? [{ dispenser, from, to: state.issued }] : [];
    });
  }

  /**
   * Records which numbers of `span` have a unit item. Returns how many are still in flight and,
   * among them, those first seen unsettled at least `abandonAfterMs` ago.
   */
  checked(
    span: NumberSpan,
    present: ReadonlySet<number>,
    now: number,
    abandonAfterMs: number,
  ): { inFlight: number; abandoned: NumberRange[] } {
    const { dispenser, from, to } = span;
    const abandoned: NumberRange[] = [];
    let inFlight = 0;
    let prefix = true;
    for (let number = from; number <= to; number++) {
      const key = `${dispenser}:${number}`;
      if (present.has(number)) {
        this.firstSeen.delete(key);
        if (prefix) this.settledTo[dispenser] = Math.max(this.settledTo[dispenser] ?? 0, number);
        continue;
      }
      prefix = false;
      inFlight++;
      const seen = this.firstSeen.get(key) ?? now;
      this.firstSeen.set(key, seen);
      if (now - seen < abandonAfterMs) continue;
      const last = abandoned.at(-1);
      if (last && last.first + last.count === number) last.count++;
      else abandoned.push({ dispenser, first: number, count: 1 });
    }
    return { inFlight, abandoned };
  }
}
