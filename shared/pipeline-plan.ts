/**
 * How the consumers are sized from the card processor's limits: plain arithmetic shared by the
 * wiring table (stack defaults) and the capacity model (`npm run capacity`), so the two cannot
 * drift. Data and arithmetic only: the wiring table imports it.
 */

/** A processor's declared limits (the PaymentGateway port's ProcessorLimits, restated as data). */
export interface ProcessorPlan {
  latencyMs: number;
  ratePerSecond: number;
}

/**
 * The processor the stack is sized for by default: a card processor's ~0.5 s per charge and its
 * common default of ~100 write requests/s per account (raised on request; DESIGN.md facts).
 */
export const DEFAULT_PROCESSOR: ProcessorPlan = { latencyMs: 500, ratePerSecond: 100 };

/** Records per payments batch: Lambda's FIFO maximum, run concurrently (shared/consumer.ts). */
export const PAYMENT_BATCH_SIZE = 10;

/**
 * Charges in flight above Little's law (rate × latency): a charge's latency varies (the simulated
 * processor plays 0.5–1.5× its typical value) and each record spends a few ms of our own around it.
 */
export const IN_FLIGHT_HEADROOM = 1.5;

/** Charges in flight that reach the processor's rate: rate × latency, with headroom. */
export function chargesInFlight(processor: ProcessorPlan): number {
  return Math.ceil(processor.ratePerSecond * (processor.latencyMs / 1000) * IN_FLIGHT_HEADROOM);
}

/**
 * Payment consumer instances: enough batches in flight to hold the processor at its rate, no more
 * (the pacer then keeps the rest waiting briefly, not piling up). Lambda's event source needs ≥ 2.
 */
export function paymentConsumers(processor: ProcessorPlan, batchSize = PAYMENT_BATCH_SIZE): number {
  return Math.max(2, Math.ceil(chargesInFlight(processor) / batchSize));
}
