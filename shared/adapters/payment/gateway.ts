import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../config.ts';
import type { PaymentGateway } from '../../ports.ts';
import { SimulatedPaymentGateway } from './simulated-gateway.ts';
import { assertStripeKey, StripePaymentGateway } from './stripe-gateway.ts';

/** Stripe counts a PaymentIntent's create and its confirm as two write requests. */
const STRIPE_WRITES_PER_CHARGE = 2;

/** The one place that picks the processor adapter from configuration (PAYMENT_GATEWAY). */
export function paymentGateway(config: Config, db: DynamoDBDocumentClient): PaymentGateway {
  const payment = config.payment;
  switch (payment.PAYMENT_GATEWAY) {
    case 'simulated':
      return new SimulatedPaymentGateway(db, config.tableName('payments'), {
        latencyMs: payment.PAYMENT_LATENCY_MS,
        rateLimit: payment.PAYMENT_RATE_LIMIT,
        declineRate: payment.PAYMENT_DECLINE_RATE,
        errorRate: payment.PAYMENT_ERROR_RATE,
      });
    case 'stripe': {
      // The config schema demands the key when PAYMENT_GATEWAY=stripe.
      const secretKey = payment.STRIPE_SECRET_KEY as string;
      assertStripeKey(secretKey);
      return new StripePaymentGateway(db, config.tableName('payments'), {
        secretKey,
        apiBase: payment.STRIPE_API_BASE,
        timeoutMs: payment.STRIPE_TIMEOUT_MS,
        limits: {
          latencyMs: payment.STRIPE_LATENCY_MS,
          ratePerSecond: payment.STRIPE_WRITES_PER_SECOND / STRIPE_WRITES_PER_CHARGE,
        },
      });
    }
  }
}
