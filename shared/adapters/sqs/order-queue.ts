import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../../config.ts';
import type { Order } from '../../domain/order.ts';
import type { EnqueueOptions, OrderQueue, QueueProbe } from '../../ports.ts';
import { emulatorCredentials } from '../aws.ts';

export function sqsClient(config: Pick<Config, 'region' | 'endpoints'>): SQSClient {
  return new SQSClient({
    region: config.region,
    maxAttempts: 4,
    ...(config.endpoints.sqs ? { endpoint: config.endpoints.sqs, credentials: emulatorCredentials() } : {}),
  });
}

export interface OrderMessage {
  orderId: string;
  saleId: string;
  userId: string;
}

/**
 * Both queues are FIFO with deduplication id = order id (a re-send within five minutes is
 * dropped by SQS; the reconciler's re-sends carry their own id) and one message group per order, so no group — and no sale — is a queue-wide
 * bottleneck and high-throughput FIFO can spread the load.
 */
export class SqsOrderQueue implements OrderQueue, QueueProbe {
  constructor(
    private readonly sqs: SQSClient,
    private readonly urls: { orders?: string; payments?: string },
  ) {}

  async isEmpty(queue: 'orders' | 'payments'): Promise<boolean> {
    const url = this.urls[queue];
    if (!url) throw new Error('This function has no access to that queue in the wiring table');
    const { Attributes = {} } = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    return Object.values(Attributes).every((count) => Number(count) === 0);
  }

  enqueueOrder(order: OrderMessage, options?: EnqueueOptions): Promise<void> {
    return this.send(this.urls.orders, order, options);
  }

  enqueuePayment(order: OrderMessage, options?: EnqueueOptions): Promise<void> {
    return this.send(this.urls.payments, order, options);
  }

  private async send(
    url: string | undefined,
    { orderId, saleId, userId }: Pick<Order, 'orderId' | 'saleId' | 'userId'>,
    options: EnqueueOptions = {},
  ): Promise<void> {
    if (!url) throw new Error('This function has no access to that queue in the wiring table');
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: JSON.stringify({ orderId, saleId, userId } satisfies OrderMessage),
        MessageGroupId: orderId,
        MessageDeduplicationId: options.resend ? `${orderId}.${options.resend}` : orderId,
      }),
    );
  }
}
