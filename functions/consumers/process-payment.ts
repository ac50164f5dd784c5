import { stores } from '../../shared/adapters/dynamo/client.ts';
import { SnsOrderEvents } from '../../shared/adapters/events/sns-order-events.ts';
import { SimulatedPaymentGateway } from '../../shared/adapters/payment/simulated-gateway.ts';
import { loadConfig } from '../../shared/config.ts';
import { fifoConsumer } from '../../shared/consumer.ts';
import { countPipeline, logger } from '../../shared/observability.ts';
import { settlePayment } from '../../shared/usecases/pipeline.ts';

const config = loadConfig('processPayment');
const { db, orders } = stores(config);
const deps = {
  orders: orders(),
  events: new SnsOrderEvents(config, config.topicArn('orderEvents'), logger),
  gateway: new SimulatedPaymentGateway(db, config.tableName('payments'), {
    latencyMs: config.payment.PAYMENT_LATENCY_MS,
    declineRate: config.payment.PAYMENT_DECLINE_RATE,
    errorRate: config.payment.PAYMENT_ERROR_RATE,
  }),
  observe: countPipeline,
};

export const handler = fifoConsumer('payments', (message) =>
  settlePayment(deps, message.orderId, Date.now()),
);
