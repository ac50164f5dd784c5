import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { stores } from '../../shared/adapters/dynamo/client.ts';
import { SnsOrderEvents } from '../../shared/adapters/events/sns-order-events.ts';
import { paymentGateway } from '../../shared/adapters/payment/gateway.ts';
import { SqsOrderQueue, sqsClient } from '../../shared/adapters/sqs/order-queue.ts';
import { loadConfig } from '../../shared/config.ts';
import { countPipeline, logger, metrics } from '../../shared/observability.ts';
import { traced } from '../../shared/tracing.ts';
import { type ReconcileReport, reconcile } from '../../shared/usecases/reconcile.ts';
import { type SweepReport, sweep } from '../../shared/usecases/sweep.ts';
import { PAYMENT_GRACE_MS } from '../../shared/wiring.ts';

const config = loadConfig('reconcile');
const dynamo = stores(config);
const { db, orders } = dynamo;
const queue = new SqsOrderQueue(sqsClient(config), {
  orders: config.queueUrl('orders'),
  payments: config.queueUrl('payments'),
});
const deps = {
  orders: orders(),
  queue,
  probe: queue,
  events: new SnsOrderEvents(config, config.topicArn('orderEvents'), logger),
  gateway: paymentGateway(config, db),
  observe: countPipeline,
  onOrderError: (order: { orderId: string; status: string }, error: unknown) =>
    logger.error('reconciling one order failed; it stays due for the next run', {
      orderId: order.orderId,
      status: order.status,
      error,
    }),
};
const sweepDeps = { sales: dynamo.sales(), stock: dynamo.stock(), sweep: dynamo.sweep() };

/**
 * SQS's approximate counts may lag a minute behind sends (AWS docs, ApproximateNumberOfMessages):
 * an empty queue proves gone only the jobs sent longer ago than this.
 */
const QUEUE_COUNT_LAG_MS = 60_000;

/** Stop taking new pages this long before the function's timeout: one page's work fits in it. */
const RESERVE_MS = 10_000;

/** EventBridge scheduled events carry the scheduled time; a late invocation still reconciles as of now. */
const asOf = (event: { time?: string } | undefined) =>
  Math.max(Date.now(), Date.parse(event?.time ?? '') || 0);

export const handler = middy<{ time?: string } | undefined, ReconcileReport & { sweep: SweepReport }>()
  .use(traced())
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async (event, context) => {
    const report = await reconcile(deps, asOf(event), {
      limit: config.reconcile.RECONCILE_BATCH_LIMIT,
      pageSize: 25,
      reenqueueGraceMs: config.reconcile.REENQUEUE_GRACE_SECONDS * 1000,
      paymentGraceMs: PAYMENT_GRACE_MS,
      queueCountLagMs: QUEUE_COUNT_LAG_MS,
      retrySeconds: config.payment.PAYMENT_RETRY_SECONDS,
      timeLeft: () => context.getRemainingTimeInMillis() - RESERVE_MS,
    });
    if (report.examined > 0) logger.info('reconciled', { ...report });
    // Numbers taken but never claimed (a checkout that died between its two steps) go back.
    const swept = await sweep(sweepDeps, asOf(event), {
      graceMs: config.reconcile.SWEEP_GRACE_SECONDS * 1000,
      maxNumbersPerDispenser: config.reconcile.RECONCILE_BATCH_LIMIT,
    });
    if (swept.returned > 0) logger.info('swept numbers taken but never claimed', { ...swept });
    return { ...report, sweep: swept };
  });
