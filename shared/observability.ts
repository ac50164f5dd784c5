import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { PipelineEvent } from './usecases/pipeline.ts';

// One set per bundle, built at cold start (the tracer lives in tracing.ts). Service name, namespace and level come from the
// POWERTOOLS_* environment the CDK app (or the local runtime) sets.
export const logger = new Logger();
export const metrics = new Metrics();

/** Order-lifecycle counts (EMF): reserved, confirmed, paymentFailed, expired, cancelled, unitsReleased, … */
export function countPipeline(event: PipelineEvent, count = 1): void {
  metrics.addMetric(event, MetricUnit.Count, count);
}
