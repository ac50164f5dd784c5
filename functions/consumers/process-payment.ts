import { stores } from '../../shared/adapters/dynamo/client.ts';
import { SnsOrderEvents } from '../../shared/adapters/events/sns-order-events.ts';
import { DynamoChargePacer, unpaced } from '../../shared/adapters/payment/dynamo-pacer.ts';
import { paymentGateway } from '../../shared/adapters/payment/gateway.ts';
import { loadConfig } from '../../shared/config.ts';
import { fifoConsumer } from '../../shared/consumer.ts';
import { countPipeline, logger } from '../../shared/observability.ts';
import { settlePayment } from '../../shared/usecases/settle-payment.ts';
import { PAYMENT_GRACE_MS } from '../../shared/wiring.ts';

const config = loadConfig('processPayment');
const { db, orders } = stores(config);
const gateway = paymentGateway(config, db);
const rate = gateway.limits.ratePerSecond;
const deps = {
  orders: orders(),
  events: new SnsOrderEvents(config, config.topicArn('orderEvents'), logger),
  gateway,
  pacer: Number.isFinite(rate) ? new DynamoChargePacer(db, config.tableName('payments'), rate) : unpaced,
  retrySeconds: config.payment.PAYMENT_RETRY_SECONDS,
  paymentGraceMs: PAYMENT_GRACE_MS,
  observe: countPipeline,
};

export const handler = fifoConsumer('payments', (message, delivery) =>
  settlePayment(deps, message.orderId, Date.now(), delivery),
);
