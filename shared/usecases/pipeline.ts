import { isTerminal, type Order } from '../domain/order.ts';
import {
  keepsMoney,
  type OrderEvents,
  type OrderQueue,
  type OrderStore,
  type PaymentGateway,
} from '../ports.ts';

export type PipelineEvent =
  | 'paymentRequested'
  | 'confirmed'
  | 'paymentFailed'
  | 'expired'
  | 'cancelled'
  | 'unitsReleased'
  | 'reenqueued'
  | 'paymentResent'
  | 'refunded'
  | 'reconcileFailed'
  | 'skipped'
  | 'dueExamined'
  | 'eventPublishFailed';

export interface PipelineDeps {
  orders: OrderStore;
  queue: OrderQueue;
  events: OrderEvents;
  observe?: (event: PipelineEvent, count?: number) => void;
}

/**
 * Publishes a terminal transition that has already committed. With `retry`, a failed publish is
 * rethrown so the queue redelivers the message and settlePayment announces again (events are
 * at-least-once: subscribers deduplicate on orderId + status). Without it (an HTTP cancel, an
 * expiry the reconciler will not see again) the failure is counted (eventPublishFailed, alarmed
 * in the cloud) and logged by the adapter, and the committed change still stands.
 */
export async function announce(
  deps: Pick<PipelineDeps, 'events' | 'observe'>,
  order: Order,
  options: { retry?: boolean } = {},
): Promise<void> {
  if (!isTerminal(order.status)) return;
  try {
    await publishTerminal(deps.events, order);
  } catch (error) {
    deps.observe?.('eventPublishFailed');
    if (options.retry) throw error;
  }
}

function publishTerminal(events: OrderEvents, order: Order): Promise<void> {
  return events.publish({
    type: 'order.terminal',
    orderId: order.orderId,
    saleId: order.saleId,
    userId: order.userId,
    status: order.status,
    quantity: order.quantity,
    amount: order.amount,
    currency: order.currency,
    ...(order.failureReason ? { failureReason: order.failureReason } : {}),
    at: order.updatedAt,
  });
}

/**
 * orders.fifo consumer step: RESERVED → PAYMENT_PENDING, then a payment job. A redelivery of an
 * order already PAYMENT_PENDING sends the job again (deduplicated by SQS), so a crash between the
 * two steps loses nothing; any other status means there is nothing left to do. The order becomes
 * due for the reconciler once `paymentDueAfterMs` passes without a settlement, so a lost or
 * dead-lettered payment job is sent again.
 */
export async function requestPayment(
  deps: Pick<PipelineDeps, 'orders' | 'queue' | 'observe'> & { paymentDueAfterMs: number },
  orderId: string,
  now: number,
): Promise<void> {
  let order = await deps.orders.get(orderId, true);
  if (!order) {
    deps.observe?.('skipped');
    return;
  }
  if (order.status === 'RESERVED') {
    order =
      (await deps.orders.transition(order, 'RESERVED', {
        to: 'PAYMENT_PENDING',
        now,
        dueAt: now + deps.paymentDueAfterMs,
        jobSentAt: now,
      })) ?? (await deps.orders.get(orderId, true));
  }
  if (order?.status !== 'PAYMENT_PENDING') {
    deps.observe?.('skipped');
    return;
  }
  await deps.queue.enqueuePayment(order);
  deps.observe?.('paymentRequested');
}

/**
 * Ends an order whose payment did not succeed in time: CONFIRMED after all if the ledger shows an
 * approved charge, else PAYMENT_FAILED with its units returned; the ledger is looked at again one
 * grace later, since a charge sent before the end may still land (then it is refunded).
 */
export async function endUnpaid(
  deps: Pick<PipelineDeps, 'orders' | 'events' | 'observe'> & {
    gateway: PaymentGateway;
    /** How long after the end to look in the ledger for a charge that landed late. */
    paymentGraceMs: number;
  },
  order: Order,
  now: number,
  reason: string,
): Promise<Order['status'] | undefined> {
  const charge = await deps.gateway.lookup(order.orderId);
  if (keepsMoney(charge)) {
    const confirmed = await deps.orders.transition(order, 'PAYMENT_PENDING', {
      to: 'CONFIRMED',
      now,
      chargeId: charge.chargeId,
    });
    if (!confirmed) return undefined;
    deps.observe?.('confirmed');
    await announce(deps, confirmed);
    return 'CONFIRMED';
  }
  const failed = await deps.orders.transition(order, 'PAYMENT_PENDING', {
    to: 'PAYMENT_FAILED',
    now,
    failureReason: reason,
  });
  if (!failed) return undefined;
  deps.observe?.('paymentFailed');
  deps.observe?.('unitsReleased', failed.quantity);
  await deps.orders.awaitRefundCheck(failed, 'PAYMENT_FAILED', now + deps.paymentGraceMs);
  await announce(deps, failed);
  return 'PAYMENT_FAILED';
}

/**
 * The money rule: an order that ended any way but CONFIRMED keeps no approved charge. Reads the
 * processor's ledger and refunds (idempotent by key) what it kept. Throws when the refund fails,
 * so the caller's retry (queue redelivery, the reconciler's next run) tries again.
 */
export async function refundKeptCharge(
  deps: Pick<PipelineDeps, 'observe'> & { gateway: PaymentGateway },
  order: Order,
): Promise<void> {
  const state = await deps.gateway.lookup(order.orderId);
  if (!keepsMoney(state)) return;
  await deps.gateway.refund(order.orderId, `order ${order.status}, not CONFIRMED`);
  deps.observe?.('refunded');
}
