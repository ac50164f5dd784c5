import type { Logger } from '@aws-lambda-powertools/logger';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Config } from '../../config.ts';
import type { OrderEvent, OrderEvents } from '../../ports.ts';
import { emulatorCredentials } from '../aws.ts';

/** Terminal order transitions go to an SNS topic (notifications hang off it) and to the log. */
export class SnsOrderEvents implements OrderEvents {
  private readonly sns: SNSClient;

  constructor(
    config: Pick<Config, 'region' | 'endpoints'>,
    private readonly topicArn: string,
    private readonly logger: Logger,
  ) {
    this.sns = new SNSClient({
      region: config.region,
      maxAttempts: 4,
      ...(config.endpoints.sns ? { endpoint: config.endpoints.sns, credentials: emulatorCredentials() } : {}),
    });
  }

  async publish(event: OrderEvent): Promise<void> {
    this.logger.info('order event', { orderEvent: event });
    await this.sns
      .send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Message: JSON.stringify(event),
          MessageAttributes: {
            status: { DataType: 'String', StringValue: event.status },
            saleId: { DataType: 'String', StringValue: event.saleId },
          },
        }),
      )
      .catch((error: unknown) => {
        this.logger.error('order event not published', { orderEvent: event, error });
        throw error;
      });
  }
}
