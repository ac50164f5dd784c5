import { Budget } from '../domain/budget.ts';
import { DomainError } from '../domain/errors.ts';
import type { Sale } from '../domain/sale.ts';
import type { DispenserState, NumberRange, StockBeliefs } from '../domain/stock.ts';
import { type SaleStore, type StockStore, StoreBusyError } from '../ports.ts';

export interface TakeDeps {
  sales: SaleStore;
  stock: StockStore;
  /** CHECKOUT_BUDGET_MS: what one checkout may spend before answering RETRY. */
  budgetMs: number;
  /** Bounds the tries while DynamoDB answers "busy" (throttled, or a release in flight on a dispenser). */
  maxAttempts: number;
  soldOutMemoMs: number;
  observe?: (
    event: 'soldOut' | 'settling' | 'contention' | 'numbersReturned' | 'returnFailed',
    detail?: unknown,
  ) => void;
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
 * cold instance never answers RETRY while stock remains that nobody else holds. When the truth
 * leaves too little, the answer is SOLD_OUT only if no number that could come back is in flight;
 * otherwise RETRY, shortly. Numbers taken before a refusal are given back before it is thrown.
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
      beliefs.refreshed(truth);
      readTruth = false;
      plan = beliefs.plan(missing, deps.random);
      if (!plan) {
        const inFlight = await numbersInFlight(deps, sale.saleId, beliefs, truth, budget);
        const verdict = beliefs.total() + inFlight >= missing ? 'settling' : 'soldOut';
        beliefs.concluded(verdict, now, deps.soldOutMemoMs);
        deps.observe?.(verdict);
        return refuse(verdict === 'soldOut' ? soldOut(sale.saleId, request.quantity) : settling());
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

interface TruthReads {
  /** The read in flight, and when it began. */
  current?: { startedAt: number; read: Promise<DispenserState[]> };
  /** The read that begins once `current` ends, for every request that arrived after `current` began. */
  next?: Promise<DispenserState[]>;
}

const truthReads = new WeakMap<StockBeliefs, TruthReads>();

/**
 * A strongly consistent read of every dispenser, begun no earlier than the request was, so it
 * reflects every write that preceded the request. A process serving many requests (the local
 * runtime) shares them: a read in flight that began after this request arrived serves it; else
 * the one read that begins when that one ends serves every request that arrived meanwhile. At a
 * sell-out, every waiting request needs the truth at once: one K-item read per request (454 in one
 * second, measured) slowed every other call on the table; this way there are at most two in flight.
 * A Lambda instance serves one request at a time, so there a request always reads for itself.
 */
async function readAllDispensers(
  deps: TakeDeps,
  sale: Sale,
  beliefs: StockBeliefs,
  now: number,
  budget: Budget,
): Promise<DispenserState[]> {
  const shared = truthReads.get(beliefs) ?? {};
  truthReads.set(beliefs, shared);
  // A read many requests may share answers to no one request's budget, only to a budget of its own.
  const begin = (): Promise<DispenserState[]> => {
    const read = deps.sales.readDispensers(sale.saleId, sale.shards, true, ownBudget(deps).signal());
    const entry = { startedAt: (deps.clock ?? Date.now)(), read };
    shared.current = entry;
    const done = () => {
      if (shared.current === entry) shared.current = undefined;
    };
    read.then(done, done);
    return read;
  };
  const { current } = shared;
  if (!current) return withinBudget(begin(), budget);
  if (current.startedAt >= now) return withinBudget(current.read, budget);
  if (!shared.next) {
    shared.next = current.read
      .catch(() => undefined)
      .then(() => {
        shared.next = undefined;
        return begin();
      });
  }
  return withinBudget(shared.next, budget);
}

/** The budget of work shared by many requests: a whole checkout's, from when it starts. */
const ownBudget = (deps: TakeDeps) => new Budget(deps.budgetMs, deps.clock);

/** Waits for shared work no longer than this request's budget: past it, the answer is RETRY. */
function withinBudget<T>(work: Promise<T>, budget: Budget): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const spent = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StoreBusyError('shared read outlasted the budget')),
      Math.max(0, budget.left()),
    );
  });
  return Promise.race([work, spent]).finally(() => clearTimeout(timer));
}

const inFlightChecks = new WeakMap<readonly DispenserState[], Promise<number>>();

/**
 * How many numbers of the sale are taken but neither claimed nor returned, as the claims table says
 * now (strongly consistent). Requests that share a consistent read of the dispensers share this
 * check too, so a crowd refused at once costs one check, not one each. Numbers unsettled for longer
 * than any checkout can hold one were abandoned: they are given back here, within seconds, rather
 * than at the sweep's grace.
 */
function numbersInFlight(
  deps: TakeDeps,
  saleId: string,
  beliefs: StockBeliefs,
  truth: readonly DispenserState[],
  budget: Budget,
): Promise<number> {
  const shared = inFlightChecks.get(truth);
  if (shared) return withinBudget(shared, budget);
  const checkBudget = ownBudget(deps);
  const check = (async () => {
    const now = (deps.clock ?? Date.now)();
    // Whoever took a number seen now took it before now, and is done with it (claimed, or given
    // back) within its budget and a give-back's time: past that, nobody holds it. Giving it back
    // early is never unsafe (a late claim and the return both need the unit item absent), only
    // unkind to a holder still at work, so the bound is the holder's, not a guess.
    const abandonAfterMs = deps.budgetMs + RETURN_TIMEOUT_MS;
    const checked = await Promise.all(
      beliefs.inFlight.unchecked(truth).map(async (span) => {
        const present = await deps.stock.settled(saleId, span, checkBudget.signal());
        return beliefs.inFlight.checked(span, present, now, abandonAfterMs);
      }),
    );
    await returnNumbers(
      deps,
      saleId,
      checked.flatMap((c) => c.abandoned),
      checkBudget,
    );
    return checked.reduce((sum, c) => sum + c.inFlight, 0);
  })();
  inFlightChecks.set(truth, check);
  return withinBudget(check, budget);
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

/**
 * Seconds a buyer told the stock is settling waits. Numbers in flight settle within a checkout's
 * budget (3 s), abandoned ones within a budget and a second of being seen; and a buyer's tries must outlast
 * that, so the same wait the gateway asks for under overload (a 1 s wait spent 8 tries in ~10 s
 * of a burst while claims were still landing, and buyers gave up with units still to sell).
 */
const SETTLING_RETRY_AFTER_SECONDS = 3;

export const settling = (): DomainError =>
  new DomainError(
    'RETRY',
    'Every unit is taken, but some are still being paid for and may come back; retry with the same Idempotency-Key',
    [],
    SETTLING_RETRY_AFTER_SECONDS,
  );

export const soldOut = (saleId: string, quantity: number): DomainError =>
  new DomainError('SOLD_OUT', `Sale ${saleId} has fewer than ${quantity} units left`);

/** Full jitter on an exponential base: 10, 20, 40 … ms, capped at 250 ms. */
export function jitter(attempt: number, random: () => number = Math.random): number {
  return random() * Math.min(250, 10 * 2 ** attempt);
}

export const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
