import { isTerminal, type Order } from '../domain/order.ts';
import type { OrderEvents, OrderQueue, OrderStore, PaymentGateway } from '../ports.ts';

export type PipelineEvent =
  | 'paymentRequested'
  | 'confirmed'
  | 'paymentFailed'
  | 'expired'
  | 'cancelled'
  | 'unitsReleased'
  | 'reenqueued'
  | 'refunded'
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
 * two steps loses nothing; any other status means there is nothing left to do.
 */
export async function requestPayment(
  deps: Pick<PipelineDeps, 'orders' | 'queue' | 'observe'>,
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
        dueAt: Date.parse(order.expiresAt),
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
 * payments.fifo consumer step: charge once (idempotency key = order id), then CONFIRMED or
 * PAYMENT_FAILED with the units returned. A TransientPaymentError propagates so the queue retries.
 */
export async function settlePayment(
  deps: Pick<PipelineDeps, 'orders' | 'events' | 'observe'> & { gateway: PaymentGateway },
  orderId: string,
  now: number,
): Promise<void> {
  const order = await deps.orders.get(orderId, true);
  if (order?.status === 'CONFIRMED' || order?.status === 'PAYMENT_FAILED') {
    // Settled by an earlier delivery that may have died, or failed to publish, before announcing.
    await announce(deps, order, { retry: true });
    return;
  }
  if (order?.status !== 'PAYMENT_PENDING') {
    deps.observe?.('skipped');
    return;
  }
  const outcome = await deps.gateway.charge({
    idempotencyKey: order.orderId,
    amount: order.amount,
    currency: order.currency,
    paymentToken: order.paymentToken,
  });
  if (outcome.status === 'approved') {
    const confirmed = await deps.orders.transition(order, 'PAYMENT_PENDING', {
      to: 'CONFIRMED',
      now,
      chargeId: outcome.chargeId,
    });
    if (confirmed) {
      deps.observe?.('confirmed');
      await announce(deps, confirmed, { retry: true });
      return;
    }
    // The order left PAYMENT_PENDING while we charged (the hold expired): the buyer keeps no
    // units, so the money goes back.
    const current = await deps.orders.get(orderId, true);
    if (current?.status !== 'CONFIRMED') {
      await deps.gateway.refund(
        order.orderId,
        `order ${current?.status ?? 'missing'} before the charge settled`,
      );
      deps.observe?.('refunded');
    }
    return;
  }
  const failed = await deps.orders.transition(order, 'PAYMENT_PENDING', {
    to: 'PAYMENT_FAILED',
    now,
    failureReason: outcome.reason,
  });
  if (failed) {
    deps.observe?.('paymentFailed');
    deps.observe?.('unitsReleased', failed.quantity);
    await announce(deps, failed, { retry: true });
  }
}

export interface ReconcileReport {
  examined: number;
  expired: number;
  reenqueued: number;
}

/**
 * Scheduled sweep over the orders that are due (a sparse index holds only non-terminal orders, so
 * this never scans the table): past their hold → EXPIRED with stock returned; still RESERVED after
 * the grace period → sent to orders.fifo again. Every change is conditional on the status it saw,
 * so running beside the consumers, or twice at once, changes nothing twice.
 */
export async function reconcile(
  deps: PipelineDeps,
  now: number,
  options: { limit: number; reenqueueGraceMs: number },
): Promise<ReconcileReport> {
  const report: ReconcileReport = { examined: 0, expired: 0, reenqueued: 0 };
  const due = await deps.orders.due(now, options.limit);
  deps.observe?.('dueExamined', due.length);
  for (const order of due) {
    report.examined++;
    const expiresAt = Date.parse(order.expiresAt);
    if (now >= expiresAt) {
      const expired = await deps.orders.transition(order, order.status, {
        to: 'EXPIRED',
        now,
        failureReason: 'hold expired',
      });
      if (expired) {
        report.expired++;
        deps.observe?.('expired');
        deps.observe?.('unitsReleased', expired.quantity);
        await announce(deps, expired);
      }
    } else if (order.status === 'RESERVED') {
      if (
        await deps.orders.reschedule(order, 'RESERVED', Math.min(now + options.reenqueueGraceMs, expiresAt))
      ) {
        await deps.queue.enqueueOrder(order);
        report.reenqueued++;
        deps.observe?.('reenqueued');
      }
    } else {
      await deps.orders.reschedule(order, order.status, expiresAt);
    }
  }
  return report;
}
