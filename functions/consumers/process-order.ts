import { stores } from '../../shared/adapters/dynamo/client.ts';
import { SqsOrderQueue, sqsClient } from '../../shared/adapters/sqs/order-queue.ts';
import { loadConfig } from '../../shared/config.ts';
import { fifoConsumer } from '../../shared/consumer.ts';
import { countPipeline } from '../../shared/observability.ts';
import { requestPayment } from '../../shared/usecases/pipeline.ts';
import { PAYMENT_GRACE_MS } from '../../shared/wiring.ts';

const config = loadConfig('processOrder');
const deps = {
  orders: stores(config).orders(),
  queue: new SqsOrderQueue(sqsClient(config), { payments: config.queueUrl('payments') }),
  observe: countPipeline,
  paymentDueAfterMs: PAYMENT_GRACE_MS,
};

export const handler = fifoConsumer('orders', (message) => requestPayment(deps, message.orderId, Date.now()));
