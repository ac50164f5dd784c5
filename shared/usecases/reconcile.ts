import { isTerminal, jobSentAtOf, type Order } from '../domain/order.ts';
import { keepsMoney, type PaymentGateway, type QueueProbe } from '../ports.ts';
import { announce, endUnpaid, type PipelineDeps, refundKeptCharge } from './pipeline.ts';

export interface ReconcileDeps extends PipelineDeps {
  gateway: PaymentGateway;
  /** Tells whether a queue is empty: the only proof that a job sent earlier is no longer in it. */
  probe: QueueProbe;
  /** Logs one order's failure; the run goes on with the others. */
  onOrderError?: (order: Order, error: unknown) => void;
}

export interface ReconcileOptions {
  /** Most orders one run looks at. */
  limit: number;
  /** Orders per bucket per index page. */
  pageSize: number;
  /** A RESERVED order not yet taken by the order consumer is sent again after this. */
  reenqueueGraceMs: number;
  /**
   * A PAYMENT_PENDING order not settled this long after its job was sent gets the job again (the
   * charge is idempotent by order id); also how long after an expiry the ledger is checked, since
   * a charge begun before the expiry has settled by then.
   */
  paymentGraceMs: number;
  /** Milliseconds this run may still spend; it stops taking new pages at zero. */
  timeLeft: () => number;
  /** How long SQS's approximate counts take to settle: an empty queue proves jobs older than this gone. */
  queueCountLagMs: number;
  /** PAYMENT_RETRY_SECONDS, for the reason an order ended by the reconciler gives. */
  retrySeconds: number;
}

export interface ReconcileReport {
  examined: number;
  expired: number;
  reenqueued: number;
  paymentsResent: number;
  /** PAYMENT_PENDING orders past their deadline whose charge had been approved: confirmed, not ended unpaid. */
  confirmed: number;
  /** Orders whose payment clock ran out without a charge that succeeded: PAYMENT_FAILED, units back. */
  paymentFailed: number;
  /** Orders left alone because their job may still be waiting in our queue. */
  waiting: number;
  refunded: number;
  failed: number;
  /** True when the run stopped with due orders left (time budget or limit). */
  truncated: boolean;
}

/**
 * Scheduled sweep over the orders that are due (a sparse index: open orders, and ended orders
 * awaiting a refund check; never a table scan), by the money section's expiry rule:
 * - payment begun (`paymentStartedAt`) and its deadline passed → CONFIRMED if the ledger shows the
 *   charge went through, else PAYMENT_FAILED with the units returned (the payment consumer ends
 *   such orders itself; this covers a delivery that died or dead-lettered);
 * - payment begun, deadline ahead, its job lost (a crash mid-charge) → sent again, deadline kept;
 * - not yet begun, its job possibly still in our queue → left waiting: an order never expires for
 *   waiting in our backlog, and no second copy of a job is added while the first may be queued;
 * - not yet begun, its queue seen empty since the job was sent (the job is lost) → sent again,
 *   or EXPIRED once past its hold from acceptance (stock returned; a kept charge refunded);
 * - ended orders sent for payment → a kept charge refunded.
 * Every change is conditional on the status it saw, so running beside the consumers, or twice
 * at once, changes nothing twice. Each order's failure is its own: counted, logged, and the order
 * stays due for the next run.
 */
export async function reconcile(
  deps: ReconcileDeps,
  now: number,
  options: ReconcileOptions,
): Promise<ReconcileReport> {
  const report: ReconcileReport = {
    examined: 0,
    expired: 0,
    reenqueued: 0,
    paymentsResent: 0,
    confirmed: 0,
    paymentFailed: 0,
    waiting: 0,
    refunded: 0,
    failed: 0,
    truncated: false,
  };
  // Jobs sent before this are out of a queue found empty now (SQS's counts settle within the lag).
  const emptyBefore = {
    orders: (await deps.probe.isEmpty('orders')) ? now - options.queueCountLagMs : Number.NEGATIVE_INFINITY,
    payments: (await deps.probe.isEmpty('payments'))
      ? now - options.queueCountLagMs
      : Number.NEGATIVE_INFINITY,
  };
  const count = (event: Parameters<NonNullable<PipelineDeps['observe']>>[0], n?: number) => {
    if (event === 'refunded') report.refunded++;
    deps.observe?.(event, n);
  };
  const step = { ...deps, observe: count };
  for await (const page of deps.orders.due(now, options.pageSize)) {
    if (report.examined >= options.limit || options.timeLeft() <= 0) {
      report.truncated = true;
      break;
    }
    deps.observe?.('dueExamined', page.length);
    for (const order of page) {
      report.examined++;
      try {
        await reconcileOne(step, order, now, options, report, emptyBefore);
      } catch (error) {
        report.failed++;
        deps.observe?.('reconcileFailed');
        deps.onOrderError?.(order, error);
      }
    }
  }
  return report;
}

async function reconcileOne(
  deps: ReconcileDeps,
  order: Order,
  now: number,
  options: ReconcileOptions,
  report: ReconcileReport,
  emptyBefore: Record<'orders' | 'payments', number>,
): Promise<void> {
  if (isTerminal(order.status)) {
    // Only orders that were sent for payment come back to the index once ended: the refund check.
    await refundKeptCharge(deps, order);
    await deps.orders.refundChecked(order, order.status);
    return;
  }
  const expiresAt = Date.parse(order.expiresAt);
  const paymentBegun = order.status === 'PAYMENT_PENDING' && order.paymentStartedAt !== undefined;
  if (paymentBegun && now >= expiresAt) {
    const ended = await endUnpaid(
      { ...deps, paymentGraceMs: options.paymentGraceMs },
      order,
      now,
      `payment not completed within ${options.retrySeconds} s`,
    );
    if (ended === 'CONFIRMED') report.confirmed++;
    if (ended === 'PAYMENT_FAILED') report.paymentFailed++;
    return;
  }
  // Looked at again one grace from now; a begun payment's deadline, when sooner, ends it on time.
  const dueAt = paymentBegun
    ? Math.min(expiresAt, now + options.paymentGraceMs)
    : now + graceOf(order, options);
  const queue = order.status === 'RESERVED' ? 'orders' : 'payments';
  if (jobSentAtOf(order) >= emptyBefore[queue]) {
    // Its job may be waiting in our queue: never a second copy, never an expiry for waiting.
    report.waiting++;
    await deps.orders.reschedule(order, order.status, dueAt);
    // A checkout's send that failed is recovered at once: sent again with the deduplication id of
    // the last send, inside SQS's five-minute window (wall clock), it can add no second copy.
    if (order.status === 'RESERVED' && Date.now() < jobSentAtOf(order) + DEDUPLICATION_WINDOW_MS) {
      await deps.queue.enqueueOrder(
        order,
        order.jobSentAt === undefined ? {} : { resend: String(order.jobSentAt) },
      );
      report.reenqueued++;
      deps.observe?.('reenqueued');
    }
    return;
  }
  if (now >= expiresAt) {
    if (order.status === 'PAYMENT_PENDING') {
      const charge = await deps.gateway.lookup(order.orderId);
      if (keepsMoney(charge)) {
        const confirmed = await deps.orders.transition(order, 'PAYMENT_PENDING', {
          to: 'CONFIRMED',
          now,
          chargeId: charge.chargeId,
        });
        if (confirmed) {
          report.confirmed++;
          deps.observe?.('confirmed');
          await announce(deps, confirmed);
        }
        return;
      }
    }
    const expired = await deps.orders.transition(order, order.status, {
      to: 'EXPIRED',
      now,
      failureReason: 'hold expired',
    });
    if (!expired) return;
    report.expired++;
    deps.observe?.('expired');
    deps.observe?.('unitsReleased', expired.quantity);
    // A charge begun before the expiry may still settle: look at the ledger once it must have.
    if (order.status === 'PAYMENT_PENDING')
      await deps.orders.awaitRefundCheck(expired, 'EXPIRED', now + options.paymentGraceMs);
    await announce(deps, expired);
    return;
  }
  // Its job is lost (the queue emptied since it was sent), its charge possibly begun by a consumer
  // that died: send it again, with a fresh deduplication id since the first send may still be inside
  // SQS's five-minute window. A begun payment keeps its deadline (the charge is idempotent by order id).
  if (!(await deps.orders.reschedule(order, order.status, dueAt, now))) return;
  if (order.status === 'RESERVED') {
    await deps.queue.enqueueOrder(order, { resend: String(now) });
    report.reenqueued++;
    deps.observe?.('reenqueued');
  } else {
    await deps.queue.enqueuePayment(order, { resend: String(now) });
    report.paymentsResent++;
    deps.observe?.('paymentResent');
  }
}

/** SQS FIFO drops a message whose deduplication id it saw in the last five minutes; kept short of that. */
const DEDUPLICATION_WINDOW_MS = 4 * 60_000;

const graceOf = (order: Order, options: ReconcileOptions) =>
  order.status === 'RESERVED' ? options.reenqueueGraceMs : options.paymentGraceMs;
