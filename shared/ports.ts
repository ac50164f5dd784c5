import type { CheckoutFailure } from './domain/cancellation.ts';
import type { Order, OrderStatus } from './domain/order.ts';
import type { Sale } from './domain/sale.ts';
import type { TakePlan } from './domain/stock.ts';

export interface SaleStore {
  /** Creates the sale and its shards atomically; false when the sale id is taken. */
  create(sale: Sale, shardUnits: number[]): Promise<boolean>;
  get(saleId: string): Promise<Sale | undefined>;
  /** Units in each shard, index = shard number. */
  readShards(saleId: string, shards: number, consistent: boolean): Promise<number[]>;
}

export interface Reservation {
  order: Order;
  plan: TakePlan;
  perUserLimit: number;
  /** Epoch ms; the shards refuse outside their sale window. */
  now: number;
  /** First time the reconciler should look at this order. */
  dueAt: number;
}

export type ReserveResult = { ok: true } | ({ ok: false } & CheckoutFailure);

/** Where a buyer's order list goes on: the last order of a page (the byBuyer index key). */
export interface BuyerCursor {
  orderId: string;
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  after?: BuyerCursor;
}

export interface TransitionChange {
  to: OrderStatus;
  now: number;
  failureReason?: string;
  chargeId?: string;
  /** Next time the reconciler should look; ignored (and cleared) for terminal statuses. */
  dueAt?: number;
}

export interface OrderStore {
  /** The checkout transaction: shard(s) −q, order put-if-absent, buyer counter +q within the limit. */
  reserve(reservation: Reservation): Promise<ReserveResult>;
  get(orderId: string, consistent?: boolean): Promise<Order | undefined>;
  listByBuyer(userId: string, limit: number, after?: BuyerCursor): Promise<Page<Order>>;
  /**
   * Moves an order from `from` to `change.to` only if it is still in `from`; a status that gives
   * stock back returns the units to their shards and lowers the buyer's counter in the same
   * transaction. Returns the updated order, or undefined when the order was not in `from`.
   */
  transition(order: Order, from: OrderStatus, change: TransitionChange): Promise<Order | undefined>;
  /** Moves the reconciler's next look at an order that is still in `status`. */
  reschedule(order: Order, status: OrderStatus, dueAt: number): Promise<boolean>;
  /**
   * Orders in the sparse byDue index whose dueAt has passed, a page at a time (every bucket is
   * paged past its own Limit, so a run can drain everything due). Non-terminal orders, plus
   * terminal orders that were sent for payment and still await a refund check.
   */
  due(now: number, pageSize: number): AsyncIterable<Order[]>;
  /**
   * Puts a terminal order (one that was sent for payment) back into the byDue index, so the
   * reconciler checks the payment ledger at `dueAt` and refunds a charge it kept. Only while the
   * order is still in `status`.
   */
  awaitRefundCheck(order: Order, status: OrderStatus, dueAt: number): Promise<boolean>;
  /** Takes a terminal order out of the byDue index once the ledger holds no kept charge for it. */
  refundChecked(order: Order, status: OrderStatus): Promise<void>;
}

export interface EnqueueOptions {
  /**
   * Set by the reconciler when it sends a job again: a fresh deduplication id (order id + this),
   * since the first send may still be inside SQS's five-minute deduplication window, which would
   * silently drop the re-send of a job that was lost.
   */
  resend?: string;
}

export interface OrderQueue {
  /** orders.fifo; deduplicated by order id. */
  enqueueOrder(order: Pick<Order, 'orderId' | 'saleId' | 'userId'>, options?: EnqueueOptions): Promise<void>;
  /** payments.fifo; deduplicated by order id. */
  enqueuePayment(
    order: Pick<Order, 'orderId' | 'saleId' | 'userId'>,
    options?: EnqueueOptions,
  ): Promise<void>;
}

export type ChargeOutcome = { status: 'approved'; chargeId: string } | { status: 'declined'; reason: string };

/** A failure worth retrying later: timeout, processor 5xx, throttling. */
export class TransientPaymentError extends Error {
  override name = 'TransientPaymentError';
}

export interface PaymentGateway {
  /** Idempotent: a repeated charge with the same key returns the first outcome and charges nothing more. */
  charge(request: {
    idempotencyKey: string;
    amount: number;
    currency: string;
    paymentToken: string;
  }): Promise<ChargeOutcome>;
  /** Idempotent by key: refunding an already refunded charge changes nothing. Only for an approved charge. */
  refund(idempotencyKey: string, reason: string): Promise<void>;
  /** The processor's ledger entry for a key, read consistently: what was charged and whether it went back. */
  lookup(idempotencyKey: string): Promise<ChargeState>;
}

export type ChargeState =
  | { status: 'none' }
  /** Attempted, no outcome yet (transient failures so far, or a charge in flight). */
  | { status: 'pending' }
  | { status: 'declined' }
  | { status: 'approved'; chargeId: string; refunded: boolean };

/** An approved charge the buyer still pays for. */
export const keepsMoney = (state: ChargeState): state is Extract<ChargeState, { status: 'approved' }> =>
  state.status === 'approved' && !state.refunded;

export interface OrderEvent {
  type: 'order.terminal';
  orderId: string;
  saleId: string;
  userId: string;
  status: OrderStatus;
  quantity: number;
  amount: number;
  currency: string;
  failureReason?: string;
  at: string;
}

export interface OrderEvents {
  publish(event: OrderEvent): Promise<void>;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
