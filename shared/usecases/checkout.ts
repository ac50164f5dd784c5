import type { PlaceOrderBody } from '../contract.ts';
import { DomainError, invalid, saleNotFound } from '../domain/errors.ts';
import { bodyHashOf, type Order, orderIdFor } from '../domain/order.ts';
import { isOpen, type Sale } from '../domain/sale.ts';
import { StockBeliefs } from '../domain/stock.ts';
import type { OrderQueue, OrderStore, SaleStore } from '../ports.ts';

export interface CheckoutDeps {
  sales: SaleStore;
  orders: OrderStore;
  queue: OrderQueue;
  catalog: SaleCatalog;
  maxAttempts: number;
  soldOutMemoMs: number;
  /** When the reconciler first looks at a new order that the order consumer has not moved on. */
  reenqueueGraceMs: number;
  /** Reports what happened, for metrics and logs; never changes the outcome. */
  observe?: (
    event: 'reserved' | 'replayed' | 'soldOut' | 'contention' | 'enqueueFailed',
    detail?: unknown,
  ) => void;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
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
 * Sale metadata and stock beliefs, kept per process. The metadata changes rarely and is cached for
 * a few seconds, so the buy path never reads or condition-checks the sale item.
 */
export class SaleCatalog {
  private readonly entries = new Map<
    string,
    { sale: Sale | undefined; until: number; stock?: StockBeliefs }
  >();

  constructor(
    private readonly sales: SaleStore,
    private readonly ttlMs: number,
  ) {}

  async get(saleId: string, now: number): Promise<{ sale: Sale; stock: StockBeliefs } | undefined> {
    let entry = this.entries.get(saleId);
    if (!entry || entry.until <= now) {
      const sale = await this.sales.get(saleId);
      entry = { sale, until: now + this.ttlMs, stock: entry?.stock };
      if (this.entries.size > 10_000) this.entries.clear();
      this.entries.set(saleId, entry);
    }
    if (!entry.sale) return undefined;
    entry.stock ??= new StockBeliefs(entry.sale.shards);
    return { sale: entry.sale, stock: entry.stock };
  }
}

export async function placeOrder(deps: CheckoutDeps, request: CheckoutRequest): Promise<CheckoutResult> {
  const { userId, saleId, idempotencyKey, body, now } = request;
  const found = await deps.catalog.get(saleId, now);
  if (!found) throw saleNotFound(saleId);
  const { sale, stock } = found;
  if (body.quantity > sale.perUserLimit) {
    throw invalid(`quantity must be at most ${sale.perUserLimit} for this sale`, [
      { path: 'quantity', message: `at most ${sale.perUserLimit}` },
    ]);
  }

  const orderId = orderIdFor(userId, saleId, idempotencyKey);
  const bodyHash = bodyHashOf(body);
  // A refusal must not hide an order this key already placed: a retry after sell-out or after the
  // window closed gets its order back. One read, and only on the refusal path.
  const refuse = async (error: DomainError): Promise<CheckoutResult> => {
    const existing = await deps.orders.get(orderId, true);
    if (existing) return replayOrThrow(existing, bodyHash, deps.observe);
    throw error;
  };
  const soldOut = () => {
    deps.observe?.('soldOut');
    return refuse(new DomainError('SOLD_OUT', `Sale ${saleId} has fewer than ${body.quantity} units left`));
  };
  if (!isOpen(sale, now)) {
    return refuse(
      new DomainError('SALE_NOT_ACTIVE', `Sale ${saleId} is open from ${sale.startsAt} to ${sale.endsAt}`),
    );
  }
  if (stock.knownSoldOut(now)) return soldOut();

  const createdAt = new Date(now).toISOString();
  const expiresAt = now + sale.holdSeconds * 1000;
  const sleep = deps.sleep ?? defaultSleep;
  let contention = 0;
  // Short shards are corrected from the values DynamoDB hands back, so each pass learns; contention
  // backs off. Both are bounded: a request never loops for long.
  for (let pass = 0; pass < deps.maxAttempts * 2; pass++) {
    let plan = stock.plan(body.quantity, deps.random);
    if (!plan) {
      // Beliefs cannot cover it: ask DynamoDB (strongly consistent) before saying SOLD_OUT.
      stock.refreshed(await deps.sales.readShards(saleId, sale.shards, true), now, deps.soldOutMemoMs);
      plan = stock.plan(body.quantity, deps.random);
      if (!plan) return soldOut();
    }
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
      takenFrom: Object.fromEntries([...plan].map(([shard, units]) => [String(shard), units])),
      idempotencyKey,
      bodyHash,
      paymentToken: body.paymentToken,
    };
    const result = await deps.orders.reserve({
      order,
      plan,
      perUserLimit: sale.perUserLimit,
      now,
      dueAt: Math.min(now + deps.reenqueueGraceMs, expiresAt),
    });
    if (result.ok) {
      stock.taken(plan);
      deps.observe?.('reserved');
      try {
        await deps.queue.enqueueOrder(order);
      } catch (error) {
        // The order is safe in DynamoDB; the reconciler sends it once its grace period passes.
        deps.observe?.('enqueueFailed', error);
      }
      return { order, replayed: false };
    }
    switch (result.kind) {
      case 'duplicate': {
        if (!result.existing) throw new Error(`Order ${orderId} exists but DynamoDB did not return it`);
        return replayOrThrow(result.existing as unknown as Order, bodyHash, deps.observe);
      }
      case 'limit':
        throw new DomainError(
          'PURCHASE_LIMIT_EXCEEDED',
          `You hold ${result.held} of this sale's limit of ${sale.perUserLimit}; ${body.quantity} more would exceed it`,
        );
      case 'notActive':
        return refuse(new DomainError('SALE_NOT_ACTIVE', `Sale ${saleId} is not open`));
      case 'shortShards':
        for (const { shard, units } of result.observed) stock.observed(shard, units);
        break;
      case 'contention':
        contention++;
        deps.observe?.('contention');
        if (contention >= deps.maxAttempts) throw retryLater();
        await sleep(jitter(contention, deps.random));
        break;
    }
  }
  throw retryLater();
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

const retryLater = () =>
  new DomainError('RETRY', 'The sale is very busy; retry with the same Idempotency-Key', [], 1);

/** Full jitter on an exponential base: 10, 20, 40 … ms, capped at 250 ms. */
function jitter(attempt: number, random: () => number = Math.random): number {
  return random() * Math.min(250, 10 * 2 ** attempt);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
