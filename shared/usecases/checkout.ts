import type { PlaceOrderBody } from '../contract.ts';
import { Budget } from '../domain/budget.ts';
import { DomainError, invalid, saleNotFound } from '../domain/errors.ts';
import { bodyHashOf, type Order, orderIdFor, releaseDispenserOf } from '../domain/order.ts';
import { isOpen, type Sale } from '../domain/sale.ts';
import { MAX_UNITS_PER_ORDER, StockBeliefs, sameRanges } from '../domain/stock.ts';
import { type Claim, type OrderQueue, type OrderStore, type SaleStore, StoreBusyError } from '../ports.ts';
import {
  defaultSleep,
  jitter,
  retryLater,
  returnNumbers,
  settling,
  soldOut,
  type TakeDeps,
  takeNumbers,
} from './take-numbers.ts';

export type CheckoutEvent =
  | 'reserved'
  | 'replayed'
  | 'soldOut'
  | 'settling'
  | 'contention'
  | 'enqueueFailed'
  | 'numbersReturned'
  | 'returnFailed'
  | 'outcomeUnknown';

export interface CheckoutDeps extends TakeDeps {
  orders: OrderStore;
  queue: OrderQueue;
  catalog: SaleCatalog;
  /** When the reconciler first looks at a new order that the order consumer has not moved on. */
  reenqueueGraceMs: number;
  /** Reports what happened, for metrics and logs; never changes the outcome. */
  observe?: (event: CheckoutEvent, detail?: unknown) => void;
}

export interface CheckoutRequest {
  userId: string;
  saleId: string;
  idempotencyKey: string;
  body: PlaceOrderBody;
  now: number;
}

export interface CheckoutResult {
  order: Order;
  /** True when this was a retry of an order that already existed. */
  replayed: boolean;
}

/**
 * Sale metadata and dispenser beliefs, kept per process. The metadata changes rarely and is cached
 * for a few seconds, so the buy path never reads or condition-checks the sale item. Requests that
 * find it missing or stale at the same moment share one read (and so one set of beliefs).
 */
export class SaleCatalog {
  private readonly entries = new Map<
    string,
    { sale: Promise<Sale | undefined>; until: number; stock?: StockBeliefs }
  >();

  constructor(
    private readonly sales: SaleStore,
    private readonly ttlMs: number,
  ) {}

  async get(saleId: string, now: number): Promise<{ sale: Sale; stock: StockBeliefs } | undefined> {
    let entry = this.entries.get(saleId);
    if (!entry || entry.until <= now) {
      entry = { sale: this.sales.get(saleId), until: now + this.ttlMs, stock: entry?.stock };
      if (this.entries.size > 10_000) this.entries.clear();
      this.entries.set(saleId, entry);
    }
    const loading = entry;
    const sale = await loading.sale.catch((error: unknown) => {
      // A failed read is not cached: the next request tries again.
      if (this.entries.get(saleId) === loading) this.entries.delete(saleId);
      throw error;
    });
    if (!sale) return undefined;
    loading.stock ??= new StockBeliefs(sale.shards);
    return { sale, stock: loading.stock };
  }
}

/**
 * A checkout: replay check → take numbers (plain conditional updates on dispensers) → claim them
 * (one transaction over items no other buyer shares) → send the order. Within a time budget:
 * every answer is the order (202/200), a refusal (4xx), or RETRY; never an error because of load.
 */
export async function placeOrder(deps: CheckoutDeps, request: CheckoutRequest): Promise<CheckoutResult> {
  const budget = new Budget(deps.budgetMs, deps.clock);
  try {
    return await checkout(deps, request, budget);
  } catch (error) {
    if (error instanceof StoreBusyError) throw retryLater();
    throw error;
  }
}

async function checkout(
  deps: CheckoutDeps,
  request: CheckoutRequest,
  budget: Budget,
): Promise<CheckoutResult> {
  const { userId, saleId, idempotencyKey, body, now } = request;
  const found = await deps.catalog.get(saleId, now);
  if (!found) throw saleNotFound(saleId);
  const { sale, stock } = found;
  const most = Math.min(sale.perUserLimit, MAX_UNITS_PER_ORDER);
  if (body.quantity > most) {
    throw invalid(`quantity must be at most ${most} for this sale`, [
      { path: 'quantity', message: `at most ${most}` },
    ]);
  }

  // Replay first: a retry gets its order back whatever happened since (sold out, window closed),
  // and takes no number. One strongly consistent read of the idempotency record.
  const orderId = orderIdFor(userId, saleId, idempotencyKey);
  const bodyHash = bodyHashOf(body);
  const existing = await deps.orders.get(orderId, true, budget.signal());
  if (existing) return replayOrThrow(existing, bodyHash, deps.observe);

  if (!isOpen(sale, now)) {
    throw new DomainError(
      'SALE_NOT_ACTIVE',
      `Sale ${saleId} is open from ${sale.startsAt} to ${sale.endsAt}`,
    );
  }
  const known = stock.known(now);
  if (known) {
    deps.observe?.(known);
    throw known === 'soldOut' ? soldOut(saleId, body.quantity) : settling();
  }

  const claimed = await takeNumbers(deps, {
    sale,
    beliefs: stock,
    quantity: body.quantity,
    now,
    budget,
  }).catch(async (error: unknown) => {
    // A refusal must not hide an order a concurrent copy of this request placed meanwhile.
    if (!(error instanceof DomainError)) throw error;
    const placed = await deps.orders.get(orderId, true, budget.closingSignal()).catch(() => undefined);
    if (placed) return replayOrThrow(placed, bodyHash, deps.observe);
    throw error;
  });
  if (!Array.isArray(claimed)) return claimed;
  const createdAt = new Date(now).toISOString();
  const expiresAt = now + sale.holdSeconds * 1000;
  const order: Order = {
    orderId,
    saleId,
    userId,
    quantity: body.quantity,
    amount: body.quantity * sale.price,
    currency: sale.currency,
    status: 'RESERVED',
    createdAt,
    updatedAt: createdAt,
    expiresAt: new Date(expiresAt).toISOString(),
    claimed,
    releaseTo: releaseDispenserOf(orderId, sale.shards),
    idempotencyKey,
    bodyHash,
    paymentToken: body.paymentToken,
  };
  const claim: Claim = {
    order,
    perUserLimit: sale.perUserLimit,
    dueAt: Math.min(now + deps.reenqueueGraceMs, expiresAt),
    attempt: 1,
  };
  return claimNumbers(deps, claim, budget);
}

/**
 * Claims the numbers with the order. An unknown outcome is resent unchanged (same token) while the
 * budget lasts, then settled by reading the order; numbers whose claim surely failed go back at once.
 */
async function claimNumbers(deps: CheckoutDeps, claim: Claim, budget: Budget): Promise<CheckoutResult> {
  const { order } = claim;
  const sleep = deps.sleep ?? defaultSleep;
  let result = await deps.orders.claim(claim, budget.signal());
  for (let resend = 1; !result.ok && budget.canTry() && resend < deps.maxAttempts; resend++) {
    if (result.kind === 'unknown') deps.observe?.('outcomeUnknown');
    else if (result.kind === 'busy') {
      deps.observe?.('contention');
      // Known not applied: a fresh attempt (a new token), not a resend.
      claim.attempt++;
    } else break;
    await sleep(budget.pause(jitter(resend, deps.random)));
    result = await deps.orders.claim(claim, budget.signal());
  }
  if (result.ok) return accepted(deps, order);

  const giveBack = () => returnNumbers(deps, order.saleId, order.claimed, budget);
  switch (result.kind) {
    case 'unknown':
      deps.observe?.('outcomeUnknown');
      return settle(deps, order, budget);
    case 'duplicate': {
      const existing = result.existing as Order | undefined;
      if (!existing) throw new Error(`Order ${order.orderId} exists but DynamoDB did not return it`);
      // Our own earlier send, whose answer was lost, committed: this is the order, not a replay.
      if (sameRanges(existing.claimed ?? [], order.claimed)) return accepted(deps, order);
      await giveBack();
      return replayOrThrow(existing, order.bodyHash, deps.observe);
    }
    case 'limit':
      await giveBack();
      throw new DomainError(
        'PURCHASE_LIMIT_EXCEEDED',
        `You hold ${result.held} of this sale's limit; ${order.quantity} more would exceed it`,
      );
    case 'numberGone':
    case 'busy':
      await giveBack();
      throw retryLater();
  }
}

/**
 * The claim's outcome is still unknown when the budget runs out: the order item (the idempotency
 * record) decides. When it is not there, the numbers are fenced off with return markers, which a
 * late claim cannot get past (both need the unit item absent), so they are not stranded.
 */
async function settle(deps: CheckoutDeps, order: Order, budget: Budget): Promise<CheckoutResult> {
  const found = await deps.orders.get(order.orderId, true, budget.closingSignal()).catch((error: unknown) => {
    if (error instanceof StoreBusyError) return 'unreadable' as const;
    throw error;
  });
  if (found === undefined || found === 'unreadable') {
    // Unreadable, the numbers stay with the reconciler's sweep (same exclusion, after its grace).
    if (found === undefined) await returnNumbers(deps, order.saleId, order.claimed, budget);
    throw retryLater(
      'The outcome of this order is not known yet; a retry with the same Idempotency-Key returns the order if it was placed',
    );
  }
  if (sameRanges(found.claimed ?? [], order.claimed)) return accepted(deps, order);
  await returnNumbers(deps, order.saleId, order.claimed, budget);
  return replayOrThrow(found, order.bodyHash, deps.observe);
}

async function accepted(deps: CheckoutDeps, order: Order): Promise<CheckoutResult> {
  deps.observe?.('reserved');
  try {
    await deps.queue.enqueueOrder(order);
  } catch (error) {
    // The order is safe in DynamoDB; the reconciler sends it once its grace period passes.
    deps.observe?.('enqueueFailed', error);
  }
  return { order, replayed: false };
}

function replayOrThrow(existing: Order, bodyHash: string, observe: CheckoutDeps['observe']): CheckoutResult {
  if (existing.bodyHash !== bodyHash) {
    throw new DomainError(
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was used with a different request body',
      [{ path: 'Idempotency-Key', message: `already used for order ${existing.orderId}` }],
    );
  }
  observe?.('replayed');
  return { order: existing, replayed: true };
}
