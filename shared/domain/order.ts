import { createHash } from 'node:crypto';
import type { NumberRange } from './stock.ts';

export const orderStatuses = [
  'RESERVED',
  'PAYMENT_PENDING',
  'CONFIRMED',
  'PAYMENT_FAILED',
  'EXPIRED',
  'CANCELLED',
] as const;
export type OrderStatus = (typeof orderStatuses)[number];

export interface Order {
  orderId: string;
  saleId: string;
  userId: string;
  quantity: number;
  amount: number;
  currency: string;
  status: OrderStatus;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  failureReason?: string;
  /** The dispenser numbers this order claimed (one unit item each). */
  claimed: NumberRange[];
  /** The dispenser a release gives the units back to, spread by order id so releases do not pile onto one item. */
  releaseTo: number;
  idempotencyKey: string;
  bodyHash: string;
  paymentToken: string;
  chargeId?: string;
  /** When the job that moves the order on was last sent (epoch ms): the checkout's, then the payment job. */
  jobSentAt?: number;
  /** When the first charge was attempted: the order's payment clock (see paymentDeadline). */
  paymentStartedAt?: string;
}

/** What the API shows of an order; the idempotency and payment internals stay inside. */
export type OrderView = Pick<
  Order,
  | 'orderId'
  | 'saleId'
  | 'userId'
  | 'quantity'
  | 'amount'
  | 'currency'
  | 'status'
  | 'createdAt'
  | 'updatedAt'
  | 'expiresAt'
  | 'failureReason'
>;

export function viewOfOrder(order: Order): OrderView {
  const {
    orderId,
    saleId,
    userId,
    quantity,
    amount,
    currency,
    status,
    createdAt,
    updatedAt,
    expiresAt,
    failureReason,
  } = order;
  return {
    orderId,
    saleId,
    userId,
    quantity,
    amount,
    currency,
    status,
    createdAt,
    updatedAt,
    expiresAt,
    ...(failureReason ? { failureReason } : {}),
  };
}

const transitions: Record<OrderStatus, readonly OrderStatus[]> = {
  RESERVED: ['PAYMENT_PENDING', 'CANCELLED', 'EXPIRED'],
  PAYMENT_PENDING: ['CONFIRMED', 'PAYMENT_FAILED', 'EXPIRED'],
  CONFIRMED: [],
  PAYMENT_FAILED: [],
  EXPIRED: [],
  CANCELLED: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return transitions[from].includes(to);
}

export function isTerminal(status: OrderStatus): boolean {
  return transitions[status].length === 0;
}

/** Every terminal status but CONFIRMED gives its units back. */
export function releasesStock(status: OrderStatus): boolean {
  return isTerminal(status) && status !== 'CONFIRMED';
}

export function holdsStock(status: OrderStatus): boolean {
  return status === 'RESERVED' || status === 'PAYMENT_PENDING';
}

/** Order id = hash of (buyer, sale, key): a retry lands on the same item, so it can never take stock twice. */
export function orderIdFor(userId: string, saleId: string, idempotencyKey: string): string {
  return createHash('sha256')
    .update(`${userId}\u0000${saleId}\u0000${idempotencyKey}`)
    .digest('base64url')
    .slice(0, 26);
}

export function bodyHashOf(body: { quantity: number; paymentToken: string }): string {
  return createHash('sha256')
    .update(JSON.stringify([body.quantity, body.paymentToken]))
    .digest('base64url');
}

/**
 * Non-terminal orders spread over this many index partitions so the reconciler's index has no hot
 * key: each order writes the index about four times, so 32 buckets keep a 5,000 orders/s sale
 * well under a partition's 1,000 writes/s.
 */
export const DUE_BUCKETS = 32;

export function dueBucketOf(orderId: string): string {
  let h = 0;
  for (const ch of orderId) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return String(h % DUE_BUCKETS);
}

/** Where an order's release goes: a hash of its id over the sale's dispensers. */
export function releaseDispenserOf(orderId: string, dispensers: number): number {
  let h = 0;
  for (const ch of orderId) h = (h * 17 + ch.charCodeAt(0)) >>> 0;
  return h % dispensers;
}

/**
 * The money section's expiry rule. An order's clock starts at its first charge attempt, never at
 * acceptance: while it waits in our own queues it cannot expire for waiting. From the first
 * attempt, a payment that has not succeeded within `retrySeconds` ends the order (PAYMENT_FAILED,
 * units back).
 */
export function paymentDeadline(startedAt: number, retrySeconds: number): number {
  return startedAt + retrySeconds * 1000;
}

/**
 * When the order's current job was sent: the checkout sent the orders job at acceptance; the order
 * consumer stamps the payment job it sends; the reconciler stamps each job it sends again.
 */
export function jobSentAtOf(order: Pick<Order, 'jobSentAt' | 'createdAt'>): number {
  return order.jobSentAt ?? Date.parse(order.createdAt);
}
