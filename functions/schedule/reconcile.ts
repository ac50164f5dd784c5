import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { stores } from '../../shared/adapters/dynamo/client.ts';
import { SnsOrderEvents } from '../../shared/adapters/events/sns-order-events.ts';
import { SqsOrderQueue, sqsClient } from '../../shared/adapters/sqs/order-queue.ts';
import { loadConfig } from '../../shared/config.ts';
import { countPipeline, logger, metrics } from '../../shared/observability.ts';
import { traced } from '../../shared/tracing.ts';
import { type ReconcileReport, reconcile } from '../../shared/usecases/pipeline.ts';

const config = loadConfig('reconcile');
const deps = {
  orders: stores(config).orders(),
  queue: new SqsOrderQueue(sqsClient(config), { orders: config.queueUrl('orders') }),
  events: new SnsOrderEvents(config, config.topicArn('orderEvents'), logger),
  observe: countPipeline,
};

/** EventBridge scheduled events carry the scheduled time; a late invocation still reconciles as of now. */
const asOf = (event: { time?: string } | undefined) =>
  Math.max(Date.now(), Date.parse(event?.time ?? '') || 0);

export const handler = middy<{ time?: string } | undefined, ReconcileReport>()
  .use(traced())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async (event) => {
    const report = await reconcile(deps, asOf(event), {
      limit: config.reconcile.RECONCILE_BATCH_LIMIT,
      reenqueueGraceMs: config.reconcile.REENQUEUE_GRACE_SECONDS * 1000,
    });
    if (report.expired + report.reenqueued > 0) logger.info('reconciled', { ...report });
    return report;
  });
