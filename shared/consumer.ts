import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parse } from '@aws-lambda-powertools/parser';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import { logger, metrics } from './observability.ts';
import { traced } from './tracing.ts';
import { type QueueKey, queues } from './wiring.ts';

export const orderMessage = z.object({
  orderId: z.string().check(z.minLength(1)),
  saleId: z.string(),
  userId: z.string(),
});
export type OrderMessage = z.infer<typeof orderMessage>;

/**
 * An SQS FIFO consumer: Powertools' FIFO partial processor reports failed records (and, with
 * skipGroupOnError, only the later records of the same group — one group per order) back to the
 * event source, which retries them until the queue's maxReceiveCount moves them to the DLQ.
 */
export function fifoConsumer(queue: QueueKey, work: (message: OrderMessage) => Promise<void>) {
  const processor = new SqsFifoPartialProcessorAsync();
  const maxReceiveCount = queues[queue].maxReceiveCount;
  const recordHandler = async (record: SQSRecord) => {
    try {
      await work(parse(JSON.parse(record.body), undefined, orderMessage));
    } catch (error) {
      const receives = Number(record.attributes.ApproximateReceiveCount ?? 1);
      if (receives >= maxReceiveCount) {
        metrics.addMetric('messagesDeadLettered', MetricUnit.Count, 1);
        logger.error('message failed its last attempt and goes to the DLQ', {
          messageId: record.messageId,
          queue,
          error,
        });
      } else {
        logger.warn('message failed; the queue will retry it', {
          messageId: record.messageId,
          queue,
          receives,
          error,
        });
      }
      throw error;
    }
  };
  return middy<SQSEvent, SQSBatchResponse>()
    .use(traced())
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler((event, context) => {
      metrics.addMetric('recordsReceived', MetricUnit.Count, event.Records.length);
      return processPartialResponse(event, recordHandler, processor, { context, skipGroupOnError: true });
    });
}
