import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { stores } from '../../shared/adapters/dynamo/client.ts';
import { SnsOrderEvents } from '../../shared/adapters/events/sns-order-events.ts';
import { SqsOrderQueue, sqsClient } from '../../shared/adapters/sqs/order-queue.ts';
import { loadConfig } from '../../shared/config.ts';
import { countPipeline, logger, metrics, tracer } from '../../shared/observability.ts';
import { type ReconcileReport, reconcile } from '../../shared/usecases/pipeline.ts';

const config = loadConfig('reconcile');
const deps = {
  orders: stores(config).orders(),
  queue: new SqsOrderQueue(sqsClient(config), { orders: config.queueUrl('orders') }),
  events: new SnsOrderEvents(config, config.topicArn('orderEvents'), logger),
  observe: countPipeline,
};

export const handler = middy<unknown, ReconcileReport>()
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async () => {
    const report = await reconcile(deps, Date.now(), config.reconcile.RECONCILE_BATCH_LIMIT);
    if (report.expired + report.reenqueued > 0) logger.info('reconciled', { ...report });
    return report;
  });
