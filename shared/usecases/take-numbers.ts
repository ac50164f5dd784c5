import type { Budget } from '../domain/budget.ts';
import { DomainError } from '../domain/errors.ts';
import type { Sale } from '../domain/sale.ts';
import type { DispenserState, NumberRange, StockBeliefs } from '../domain/stock.ts';
import type { SaleStore, StockStore } from '../ports.ts';

export interface TakeDeps {
  sales: SaleStore;
  stock: StockStore;
  /** Bounds the tries while DynamoDB answers "busy" (throttled, or a release in flight on a dispenser). */
  maxAttempts: number;
  soldOutMemoMs: number;
  observe?: (event: 'soldOut' | 'contention' | 'numbersReturned' | 'returnFailed', detail?: unknown) => void;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  clock?: () => number;
}

export interface TakeRequest {
  sale: Sale;
  beliefs: StockBeliefs;
  quantity: number;
  now: number;
  budget: Budget;
}

/**
 * Takes `quantity` numbers from the sale's dispensers, one plain conditional update per dispenser
 * used. Plans from this process's beliefs; after the first short dispenser (and before ever saying
 * SOLD_OUT) it reads every dispenser once, strongly consistent, and plans from that truth, so a
 * cold instance never answers RETRY while stock remains that nobody else holds. Numbers taken
 * before a refusal are given back before it is thrown.
 */
export async function takeNumbers(deps: TakeDeps, request: TakeRequest): Promise<NumberRange[]> {
  const { sale, beliefs, now, budget } = request;
  const taken: NumberRange[] = [];
  let missing = request.quantity;
  let readTruth = false;
  let shortSeen = false;
  let busy = 0;
  const refuse = async (error: DomainError): Promise<never> => {
    await returnNumbers(deps, sale.saleId, taken, budget);
    throw error;
  };

  while (missing > 0) {
    if (!budget.canTry()) return refuse(retryLater());
    let plan = readTruth ? undefined : beliefs.plan(missing, deps.random);
    if (!plan) {
      const truth = await readAllDispensers(deps, sale, beliefs, now, budget);
      beliefs.refreshed(truth, now, deps.soldOutMemoMs);
      readTruth = false;
      plan = beliefs.plan(missing, deps.random);
      if (!plan) {
        deps.observe?.('soldOut');
        return refuse(soldOut(sale.saleId, request.quantity));
      }
    }
    for (const [dispenser, count] of plan) {
      const result = await deps.stock.take(sale.saleId, dispenser, count, now, budget.signal());
      if (result.ok) {
        taken.push(result.range);
        beliefs.taken(dispenser, count);
        missing -= count;
        continue;
      }
      if (result.kind === 'closed') {
        return refuse(new DomainError('SALE_NOT_ACTIVE', `Sale ${sale.saleId} is not open`));
      }
      if (result.kind === 'short') {
        beliefs.observed(dispenser, result.remaining);
        // Once per request: the beliefs of a cold or stale process are worth replacing by the truth.
        if (!shortSeen) {
          shortSeen = true;
          readTruth = true;
        }
      } else {
        busy++;
        deps.observe?.('contention');
        if (busy >= deps.maxAttempts) return refuse(retryLater());
        await (deps.sleep ?? defaultSleep)(budget.pause(jitter(busy, deps.random)));
      }
      break;
    }
  }
  return taken;
}

const truthReads = new WeakMap<StockBeliefs, { startedAt: number; read: Promise<DispenserState[]> }>();

/**
 * A strongly consistent read of every dispenser. A request that needs one while this process has
 * one in flight, begun no earlier than the request was, shares it: it reflects every write that
 * preceded the request. A Lambda instance serves one request at a time, so there it never shares;
 * a process serving many (the local runtime) would otherwise send one K-item read per waiting
 * request the moment the sold-out memo lapses, a herd that slows every other call on the table.
 */
async function readAllDispensers(
  deps: TakeDeps,
  sale: Sale,
  beliefs: StockBeliefs,
  now: number,
  budget: Budget,
): Promise<DispenserState[]> {
  const inFlight = truthReads.get(beliefs);
  if (inFlight && inFlight.startedAt >= now) {
    const shared = await inFlight.read.catch(() => undefined);
    if (shared) return shared;
  }
  const read = deps.sales.readDispensers(sale.saleId, sale.shards, true, budget.signal());
  const entry = { startedAt: (deps.clock ?? Date.now)(), read };
  truthReads.set(beliefs, entry);
  try {
    return await read;
  } finally {
    if (truthReads.get(beliefs) === entry) truthReads.delete(beliefs);
  }
}

/**
 * Gives numbers taken but not claimed back at once. If that fails too, they stay with the
 * reconciler's sweep, which finds them unclaimed after its grace: never lost, never sold twice.
 */
export async function returnNumbers(
  deps: Pick<TakeDeps, 'stock' | 'observe'>,
  saleId: string,
  ranges: readonly NumberRange[],
  budget: Budget,
): Promise<void> {
  if (ranges.length === 0) return;
  try {
    // Worth a little time past the budget: numbers given back now sell now, not after the sweep.
    const signal = AbortSignal.timeout(Math.max(budget.left(), RETURN_TIMEOUT_MS));
    const returned = await deps.stock.giveBack(saleId, ranges, signal);
    deps.observe?.('numbersReturned', returned);
  } catch (error) {
    deps.observe?.('returnFailed', error);
  }
}

/** The least time a give-back gets, even when the budget is spent. */
const RETURN_TIMEOUT_MS = 1_000;

export const retryLater = (
  message = 'The sale is very busy; retry with the same Idempotency-Key',
): DomainError => new DomainError('RETRY', message, [], 1);

const soldOut = (saleId: string, quantity: number) =>
  new DomainError('SOLD_OUT', `Sale ${saleId} has fewer than ${quantity} units left`);

/** Full jitter on an exponential base: 10, 20, 40 … ms, capped at 250 ms. */
export function jitter(attempt: number, random: () => number = Math.random): number {
  return random() * Math.min(250, 10 * 2 ** attempt);
}

export const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
