import { stores } from '../../shared/adapters/dynamo/client.ts';
import { SnsOrderEvents } from '../../shared/adapters/events/sns-order-events.ts';
import { paymentGateway } from '../../shared/adapters/payment/gateway.ts';
import { loadConfig } from '../../shared/config.ts';
import { fifoConsumer } from '../../shared/consumer.ts';
import { countPipeline, logger } from '../../shared/observability.ts';
import { settlePayment } from '../../shared/usecases/pipeline.ts';

const config = loadConfig('processPayment');
const { db, orders } = stores(config);
const deps = {
  orders: orders(),
  events: new SnsOrderEvents(config, config.topicArn('orderEvents'), logger),
  gateway: paymentGateway(config, db),
  observe: countPipeline,
};

export const handler = fifoConsumer('payments', (message) =>
  settlePayment(deps, message.orderId, Date.now()),
);
