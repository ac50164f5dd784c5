import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../../config.ts';
import type { PaymentGateway } from '../../ports.ts';
import { SimulatedPaymentGateway } from './simulated-gateway.ts';

/** The one place that picks the processor adapter from configuration (PAYMENT_GATEWAY). */
export function paymentGateway(config: Config, db: DynamoDBDocumentClient): PaymentGateway {
  switch (config.payment.PAYMENT_GATEWAY) {
    case 'simulated':
      return new SimulatedPaymentGateway(db, config.tableName('payments'), {
        latencyMs: config.payment.PAYMENT_LATENCY_MS,
        rateLimit: config.payment.PAYMENT_RATE_LIMIT,
        declineRate: config.payment.PAYMENT_DECLINE_RATE,
        errorRate: config.payment.PAYMENT_ERROR_RATE,
      });
  }
}
