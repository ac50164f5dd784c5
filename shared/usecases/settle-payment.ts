import { isTerminal, type Order, paymentDeadline } from '../domain/order.ts';
import {
  type ChargeOutcome,
  type ChargePacer,
  type PaymentGateway,
  ProcessorRateLimitedError,
  TransientPaymentError,
} from '../ports.ts';
import { announce, endUnpaid, type PipelineDeps, refundKeptCharge } from './pipeline.ts';

export interface SettleDeps extends Pick<PipelineDeps, 'orders' | 'events' | 'observe'> {
  gateway: PaymentGateway;
  /** Keeps the charges of every instance within the processor's rate. */
  pacer: ChargePacer;
  /** From the first charge attempt, how long a payment may keep trying (PAYMENT_RETRY_SECONDS). */
  retrySeconds: number;
  /** How long after an order ends to look in the ledger for a charge that landed late. */
  paymentGraceMs: number;
}

/**
 * payments.fifo consumer step: charge once (idempotency key = order id), then CONFIRMED or
 * PAYMENT_FAILED with the units returned. The first attempt starts the order's payment clock
 * (`paymentDeadline`); a transient failure propagates so the queue retries, until the clock runs
 * out or this is the queue's last receive: then the order ends PAYMENT_FAILED (units back, no DLQ).
 * The processor's 429 is "later": waited out within this delivery, else left to the queue's retry.
 * An order that ended any other way than CONFIRMED gets a charge it kept refunded, whatever this
 * delivery saw: a redelivery after a crash between the charge and the write finds the order ended,
 * and only the ledger knows the money was taken.
 */
export async function settlePayment(
  deps: SettleDeps,
  orderId: string,
  now: number,
  delivery: { lastAttempt: boolean; until: number },
): Promise<void> {
  let order = await deps.orders.get(orderId, true);
  if (!order) {
    deps.observe?.('skipped');
    return;
  }
  if (order.status === 'CONFIRMED') {
    // Settled by an earlier delivery that may have died, or failed to publish, before announcing.
    await announce(deps, order, { retry: true });
    return;
  }
  if (order.status !== 'PAYMENT_PENDING') {
    if (isTerminal(order.status)) await refundKeptCharge(deps, order);
    if (order.status === 'PAYMENT_FAILED') await announce(deps, order, { retry: true });
    else deps.observe?.('skipped');
    return;
  }
  if (order.paymentStartedAt && now >= Date.parse(order.expiresAt)) {
    await endUnpaid(deps, order, now, `payment not completed within ${deps.retrySeconds} s`);
    return;
  }
  // A charge is sent only while twice the processor's typical latency is left of this delivery.
  const sendBy = delivery.until - 2 * deps.gateway.limits.latencyMs;
  const slot = await takeSlot(deps.pacer, sendBy);
  if (!order.paymentStartedAt) {
    // The clock starts with the first charge actually sent: waiting for a slot never counts.
    // The reconciler looks again one grace from now (not only at the deadline): a job lost in a crash
    // mid-charge is found and sent again while the clock still runs.
    const deadline = paymentDeadline(now, deps.retrySeconds);
    const started = await deps.orders.startPayment(
      order,
      now,
      deadline,
      Math.min(deadline, now + deps.paymentGraceMs),
    );
    // It left PAYMENT_PENDING meanwhile (a concurrent delivery settled it): settle from what it is.
    if (!started) return settlePayment(deps, orderId, now, delivery);
    order = started;
  }
  let outcome: ChargeOutcome;
  try {
    outcome = await chargeWithinRate(deps, order, sendBy, slot);
  } catch (error) {
    const rateLimited = error instanceof ProcessorRateLimitedError;
    if (!(error instanceof TransientPaymentError) || rateLimited || !delivery.lastAttempt) throw error;
    // The queue will not try again: end the order now rather than leave it to the DLQ.
    await endUnpaid(deps, order, now, 'payment not completed: the processor kept failing');
    return;
  }
  // The outcome's own time: the charge took a processor's latency since `now`.
  const answeredAt = Math.max(now, Date.now());
  if (outcome.status === 'approved') {
    const confirmed = await deps.orders.transition(order, 'PAYMENT_PENDING', {
      to: 'CONFIRMED',
      now: answeredAt,
      chargeId: outcome.chargeId,
    });
    if (confirmed) {
      deps.observe?.('confirmed');
      await announce(deps, confirmed, { retry: true });
      return;
    }
    // The order left PAYMENT_PENDING while we charged (its payment clock ran out): the buyer keeps
    // no units, so the money goes back. A failed refund throws, and the redelivery tries again.
    const current = await deps.orders.get(orderId, true);
    if (current && current.status !== 'CONFIRMED') await refundKeptCharge(deps, current);
    return;
  }
  const failed = await deps.orders.transition(order, 'PAYMENT_PENDING', {
    to: 'PAYMENT_FAILED',
    now: answeredAt,
    failureReason: outcome.reason,
  });
  if (failed) {
    deps.observe?.('paymentFailed');
    deps.observe?.('unitsReleased', failed.quantity);
    await announce(deps, failed, { retry: true });
  }
}

/**
 * A slot in the processor's rate: the epoch ms by which the charge must be sent to count in the
 * slot's second; or "later" (a 429 of our own) when none comes in time.
 */
async function takeSlot(pacer: ChargePacer, sendBy: number): Promise<number> {
  const slot = await pacer.acquire(sendBy);
  if (slot === undefined)
    throw new ProcessorRateLimitedError("no slot in the processor's rate before this delivery ends");
  return slot;
}

/**
 * The charge, sent inside its slot's second (a slot that went stale while the order was written is
 * replaced); a 429 anyway (a processor's own window never lines up exactly with ours) waits for its
 * hint and a fresh slot and tries again while this delivery has time, else is rethrown.
 */
async function chargeWithinRate(
  deps: SettleDeps,
  order: Order,
  sendBy: number,
  firstSlot: number,
): Promise<ChargeOutcome> {
  const request = {
    idempotencyKey: order.orderId,
    amount: order.amount,
    currency: order.currency,
    paymentToken: order.paymentToken,
  };
  let slot = firstSlot;
  for (;;) {
    if (Date.now() >= slot) slot = await takeSlot(deps.pacer, sendBy);
    try {
      return await deps.gateway.charge(request);
    } catch (error) {
      if (!(error instanceof ProcessorRateLimitedError)) throw error;
      const wait = error.retryAfterMs ?? 1_000;
      if (Date.now() + wait >= sendBy) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
      slot = await takeSlot(deps.pacer, sendBy);
    }
  }
}
