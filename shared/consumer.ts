import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parse } from '@aws-lambda-powertools/parser';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
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

/** What a record's work knows of its delivery. */
export interface Delivery {
  /** This receive is the queue's last: failing it moves the message to the DLQ. */
  lastAttempt: boolean;
  /** Epoch ms by which the work must be done: the invocation's deadline less a reserve for the reply. */
  until: number;
}

/** Kept back from the invocation's remaining time, so a record's work ends before Lambda stops it. */
const REPLY_RESERVE_MS = 1_000;

/**
 * An SQS FIFO consumer. Every message is its own group (one group per order), so a batch's records
 * run concurrently (Powertools' BatchProcessor in parallel: at most batchSize at once); should one
 * group ever bring two records in one batch, the later waits for the earlier and fails with it, as
 * the FIFO processor's skipGroupOnError would. Failed records alone go back to the queue (partial
 * batch response), which retries them until maxReceiveCount moves them to the DLQ.
 */
export function fifoConsumer(
  queue: QueueKey,
  work: (message: OrderMessage, delivery: Delivery) => Promise<void>,
) {
  const maxReceiveCount = queues[queue].maxReceiveCount;

  const runRecord = async (record: SQSRecord, context: Context | undefined) => {
    const receives = Number(record.attributes.ApproximateReceiveCount ?? 1);
    try {
      const remaining = context ? context.getRemainingTimeInMillis() : 60_000;
      await work(parse(JSON.parse(record.body), undefined, orderMessage), {
        lastAttempt: receives >= maxReceiveCount,
        until: Date.now() + remaining - REPLY_RESERVE_MS,
      });
    } catch (error) {
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

  /** One per invocation: the local runtime runs several invocations of one module at once. */
  const recordHandlerFor = () => {
    const groups = new Map<string, Promise<void>>();
    return (record: SQSRecord, context?: Context) => {
      const group = record.attributes.MessageGroupId ?? record.messageId;
      const before = groups.get(group);
      const run = before ? before.then(() => runRecord(record, context)) : runRecord(record, context);
      groups.set(group, run);
      return run;
    };
  };

  return middy<SQSEvent, SQSBatchResponse>()
    .use(traced())
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler(async (event, context) => {
      metrics.addMetric('recordsReceived', MetricUnit.Count, event.Records.length);
      return processPartialResponse(event, recordHandlerFor(), new BatchProcessor(EventType.SQS), {
        context,
        processInParallel: true,
      });
    });
}
