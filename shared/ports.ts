import type { ClaimFailure } from './domain/cancellation.ts';
import type { NumberSpan } from './domain/in-flight.ts';
import type { Order, OrderStatus } from './domain/order.ts';
import type { Sale } from './domain/sale.ts';
import type { DispenserState, NumberRange } from './domain/stock.ts';

/**
 * A store could not answer in time or refused for load (throttling, timeouts, a reset socket,
 * a 5xx after the SDK's retries). The checkout turns it into RETRY, never a 5xx.
 */
export class StoreBusyError extends Error {
  override name = 'StoreBusyError';
}

export interface SaleStore {
  /** Creates the sale and its dispensers (caps by index) atomically; false when the sale id is taken. */
  create(sale: Sale, caps: number[]): Promise<boolean>;
  get(saleId: string): Promise<Sale | undefined>;
  /** Every dispenser's issued and cap, index = dispenser number. */
  readDispensers(
    saleId: string,
    dispensers: number,
    consistent: boolean,
    signal?: AbortSignal,
  ): Promise<DispenserState[]>;
}

export type TakeResult =
  | { ok: true; range: NumberRange }
  /** Fewer than asked remain in that dispenser (its real remaining, from the failed condition). */
  | { ok: false; kind: 'short'; remaining: number }
  | { ok: false; kind: 'closed' }
  /** Throttled, conflicting with a release in flight, or timed out: nothing is known to be taken. */
  | { ok: false; kind: 'busy' };

/** The dispensers: the only items every buyer shares, and they only see plain conditional updates. */
export interface StockStore {
  /** One conditional update: `issued += quantity` if it stays within cap and the sale window. */
  take(
    saleId: string,
    dispenser: number,
    quantity: number,
    now: number,
    signal?: AbortSignal,
  ): Promise<TakeResult>;
  /**
   * Gives numbers taken but never claimed back: a `returned` marker per number (put only if the
   * number has no unit item, so a late claim and a return can never both win) and the cap raised
   * by as many, on the numbers' own dispenser. Returns how many numbers it gave back.
   */
  giveBack(saleId: string, ranges: readonly NumberRange[], signal?: AbortSignal): Promise<number>;
  /** The numbers of `span` that have a unit item (claimed or returned), strongly consistent. */
  settled(saleId: string, span: NumberSpan, signal?: AbortSignal): Promise<Set<number>>;
}

/**
 * The reconciler's place in one dispenser: numbers up to `checkedTo` were checked; numbers up to
 * `pendingIssued` were issued by `pendingSince` and are checked once the grace has passed.
 */
export interface SweepWatermark {
  checkedTo: number;
  pendingIssued: number;
  pendingSince: number;
}

export interface SweepStore {
  /** Sales whose dispensers may hold numbers taken but never claimed (open, or closed within the hour). */
  liveSales(now: number): Promise<{ saleId: string; dispensers: number }[]>;
  /** One per dispenser, index = dispenser number; a dispenser never swept starts at zero. */
  watermarks(saleId: string, dispensers: number): Promise<SweepWatermark[]>;
  saveWatermark(saleId: string, dispenser: number, watermark: SweepWatermark): Promise<void>;
  /** The numbers in `from … to` of one dispenser that have a unit item (claimed or returned). */
  unitsPresent(saleId: string, dispenser: number, from: number, to: number): Promise<Set<number>>;
}

export interface Claim {
  /** The order to put (its `claimed` ranges name the unit items to put). */
  order: Order;
  perUserLimit: number;
  /** First time the reconciler should look at this order. */
  dueAt: number;
  /**
   * Counts sends known to have failed. A resend after an unknown outcome keeps it, so it carries
   * the same ClientRequestToken and DynamoDB applies the claim at most once.
   */
  attempt: number;
}

export type ClaimResult =
  | { ok: true }
  | ({ ok: false } & ClaimFailure)
  /** The transaction may or may not have committed (timeout, reset, 5xx): resend it or read the order. */
  | { ok: false; kind: 'unknown' };

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
  /** When the order's next job (the payment job, for PAYMENT_PENDING) was sent. */
  jobSentAt?: number;
}

export interface OrderStore {
  /**
   * The claim transaction: a unit item per number (put-if-absent), the order (put-if-absent: the
   * idempotency record) and the buyer counter +q within the limit. Sending the same claim again is
   * idempotent (same ClientRequestToken).
   */
  claim(claim: Claim, signal?: AbortSignal): Promise<ClaimResult>;
  get(orderId: string, consistent?: boolean, signal?: AbortSignal): Promise<Order | undefined>;
  listByBuyer(userId: string, limit: number, after?: BuyerCursor): Promise<Page<Order>>;
  /**
   * Moves an order from `from` to `change.to` only if it is still in `from`; a status that gives
   * stock back raises the cap of the order's `releaseTo` dispenser and lowers the buyer's counter
   * in the same transaction. Returns the updated order, or undefined when the order was not in `from`.
   */
  transition(order: Order, from: OrderStatus, change: TransitionChange): Promise<Order | undefined>;
  /**
   * Moves the reconciler's next look at an order that is still in `status`; with `jobSentAt`, also
   * records that its job was just sent again.
   */
  reschedule(order: Order, status: OrderStatus, dueAt: number, jobSentAt?: number): Promise<boolean>;
  /**
   * Starts the payment clock of a PAYMENT_PENDING order, once: `paymentStartedAt` = now,
   * `expiresAt` = `deadline`, and the reconciler's next look = `dueAt` (no later than the deadline).
   * Returns the order as it now stands (an order whose clock had already started keeps its first
   * deadline), or undefined when it is no longer PAYMENT_PENDING.
   */
  startPayment(order: Order, now: number, deadline: number, dueAt: number): Promise<Order | undefined>;
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

/** What the reconciler asks of the queues before it sends a job again. */
export interface QueueProbe {
  /**
   * True when the queue holds no message at all (visible, in flight or delayed). SQS's counts are
   * approximate and settle within a minute, so an empty answer proves only that jobs sent more
   * than a minute earlier have left the queue.
   */
  isEmpty(queue: 'orders' | 'payments'): Promise<boolean>;
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

/**
 * The processor refused for rate (HTTP 429): the charge was not attempted. It means "later", never a
 * failure of the order; a subclass of TransientPaymentError so every retry path already treats it so.
 */
export class ProcessorRateLimitedError extends TransientPaymentError {
  override name = 'ProcessorRateLimitedError';
  constructor(
    message: string,
    /** The processor's own hint, when it gives one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** What a processor allows, declared by its adapter: the pipeline and the capacity model size from it. */
export interface ProcessorLimits {
  /** A typical charge's latency. */
  latencyMs: number;
  /** Charges per second the account may send (write requests/s). */
  ratePerSecond: number;
}

/**
 * Paces charges to the processor's rate across every instance of the payment consumer: a charge
 * goes out only after it has taken a slot in the processor's current second.
 */
export interface ChargePacer {
  /**
   * Takes a slot, waiting for a later second when this one is full. Returns the epoch ms by which the
   * charge must be sent to count in the slot's second, or undefined if no slot came by `until`.
   */
  acquire(until: number): Promise<number | undefined>;
}

export interface PaymentGateway {
  readonly limits: ProcessorLimits;
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
