import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { PipelineEvent } from './usecases/pipeline.ts';

// One set per bundle, built at cold start (the tracer lives in tracing.ts). Service name,
// namespace and level come from the POWERTOOLS_* environment the CDK app (or the local runtime) sets.
export const logger = new Logger();

/**
 * Metrics' own warnings go through our logger, except "no application metrics to publish": every
 * HTTP route and consumer that flushes records at least one metric per invocation, so an empty
 * flush only happens where invocations share an instance (the local runtime), and means nothing.
 */
const metricsLogger = {
  debug: (...args: unknown[]) => logger.debug(String(args[0])),
  info: (...args: unknown[]) => logger.info(String(args[0])),
  error: (...args: unknown[]) => logger.error(String(args[0])),
  warn: (...args: unknown[]) => {
    if (!String(args[0]).startsWith('No application metrics to publish')) logger.warn(String(args[0]));
  },
};
export const metrics = new Metrics({ logger: metricsLogger });

/** Order-lifecycle counts (EMF): reserved, confirmed, paymentFailed, expired, cancelled, unitsReleased, … */
export function countPipeline(event: PipelineEvent, count = 1): void {
  metrics.addMetric(event, MetricUnit.Count, count);
}
