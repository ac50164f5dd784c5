import { isTerminal, type Order } from '../domain/order.ts';
import { keepsMoney, type PaymentGateway } from '../ports.ts';
import { announce, type PipelineDeps, refundKeptCharge } from './pipeline.ts';

export interface ReconcileDeps extends PipelineDeps {
  gateway: PaymentGateway;
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
}

export interface ReconcileReport {
  examined: number;
  expired: number;
  reenqueued: number;
  paymentsResent: number;
  /** PAYMENT_PENDING orders past their hold whose charge had been approved: confirmed, not expired. */
  confirmed: number;
  refunded: number;
  failed: number;
  /** True when the run stopped with due orders left (time budget or limit). */
  truncated: boolean;
}

/**
 * Scheduled sweep over the orders that are due (a sparse index: open orders, and ended orders
 * awaiting a refund check; never a table scan). Past their hold → EXPIRED with stock returned,
 * unless the ledger shows the charge went through (then CONFIRMED: the buyer paid and the units
 * are still held); RESERVED after the grace → sent to orders.fifo again; PAYMENT_PENDING after
 * the grace → the payment job again; ended orders sent for payment → a kept charge refunded.
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
    refunded: 0,
    failed: 0,
    truncated: false,
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
        await reconcileOne(step, order, now, options, report);
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
): Promise<void> {
  if (isTerminal(order.status)) {
    // Only orders that were sent for payment come back to the index once ended: the refund check.
    await refundKeptCharge(deps, order);
    await deps.orders.refundChecked(order, order.status);
    return;
  }
  const expiresAt = Date.parse(order.expiresAt);
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
  if (order.status === 'RESERVED') {
    if (
      await deps.orders.reschedule(order, 'RESERVED', Math.min(now + options.reenqueueGraceMs, expiresAt))
    ) {
      await deps.queue.enqueueOrder(order, { resend: String(now) });
      report.reenqueued++;
      deps.observe?.('reenqueued');
    }
    return;
  }
  // PAYMENT_PENDING inside its hold but past the grace: its job was lost or dead-lettered.
  if (
    await deps.orders.reschedule(order, 'PAYMENT_PENDING', Math.min(now + options.paymentGraceMs, expiresAt))
  ) {
    await deps.queue.enqueuePayment(order, { resend: String(now) });
    report.paymentsResent++;
    deps.observe?.('paymentResent');
  }
}
