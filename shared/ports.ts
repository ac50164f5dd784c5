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

export interface Page<T> {
  items: T[];
  nextToken?: string;
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
  listByBuyer(userId: string, limit: number, nextToken?: string): Promise<Page<Order>>;
  /**
   * Moves an order from `from` to `change.to` only if it is still in `from`; a status that gives
   * stock back returns the units to their shards and lowers the buyer's counter in the same
   * transaction. Returns the updated order, or undefined when the order was not in `from`.
   */
  transition(order: Order, from: OrderStatus, change: TransitionChange): Promise<Order | undefined>;
  /** Moves the reconciler's next look at an order that is still in `status`. */
  reschedule(order: Order, status: OrderStatus, dueAt: number): Promise<boolean>;
  /** Non-terminal orders whose dueAt has passed. */
  due(now: number, limit: number): Promise<Order[]>;
}

export interface OrderQueue {
  /** orders.fifo; deduplicated by order id. */
  enqueueOrder(order: Pick<Order, 'orderId' | 'saleId' | 'userId'>): Promise<void>;
  /** payments.fifo; deduplicated by order id. */
  enqueuePayment(order: Pick<Order, 'orderId' | 'saleId' | 'userId'>): Promise<void>;
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
  refund(idempotencyKey: string, reason: string): Promise<void>;
}

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
