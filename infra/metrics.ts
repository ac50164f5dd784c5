import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { FunctionSpec } from '../shared/wiring.ts';
import { API_STAGE, METRICS_NAMESPACE, SERVICE_NAME } from './settings.ts';

/** The period of every alarm and graph. */
export const MINUTE = Duration.minutes(1);

/** An API Gateway metric of one method (per-method metrics are on for the stage). */
export function apiMethodMetric(
  api: apigw.RestApi,
  http: NonNullable<FunctionSpec['http']>,
  metricName: string,
  statistic: string,
  label?: string,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/ApiGateway',
    metricName,
    dimensionsMap: { ApiName: api.restApiName, Stage: API_STAGE, Method: http.method, Resource: http.path },
    statistic,
    period: MINUTE,
    ...(label ? { label } : {}),
  });
}

/** A count of matching log events (a metric filter), summed per minute, in the FlashSale namespace. */
export function logMetric(
  scope: Construct,
  metricName: string,
  logGroup: logs.ILogGroup,
  filterPatterns: logs.IFilterPattern[],
): cloudwatch.Metric {
  filterPatterns.forEach((filterPattern, i) => {
    new logs.MetricFilter(scope, `${metricName}Filter${i}`, {
      logGroup,
      filterPattern,
      metricNamespace: METRICS_NAMESPACE,
      metricName,
      metricValue: '1',
      defaultValue: 0,
    });
  });
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    statistic: 'Sum',
    period: MINUTE,
  });
}

/** Read + write throttle events of one global secondary index. */
export function indexThrottles(table: dynamodb.ITable, key: string, indexName: string): cloudwatch.IMetric {
  const id = `${key}${indexName}`.toLowerCase().replace(/[^a-z0-9]/g, '');
  const metric = (metricName: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/DynamoDB',
      metricName,
      dimensionsMap: { TableName: table.tableName, GlobalSecondaryIndexName: indexName },
      statistic: 'Sum',
      period: MINUTE,
    });
  return new cloudwatch.MathExpression({
    expression: `reads_${id} + writes_${id}`,
    usingMetrics: {
      [`reads_${id}`]: metric('ReadThrottleEvents'),
      [`writes_${id}`]: metric('WriteThrottleEvents'),
    },
    period: MINUTE,
    label: `${key}/${indexName} throttled requests`,
  });
}

/** A Powertools EMF count (namespace FlashSale, dimension service), summed per minute. */
export function outcomeMetric(metricName: string, labelled = true): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME },
    statistic: 'Sum',
    period: MINUTE,
    // A label would turn an alarm into a metric-math alarm; graphs want it, alarms do not.
    ...(labelled ? { label: metricName } : {}),
  });
}

/** Read + write throttle events of a table (base table; on-demand tables throttle per partition). */
export function tableThrottles(table: dynamodb.ITable, key: string): cloudwatch.IMetric {
  // Metric ids must be unique within one graph, which shows every table.
  const id = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return new cloudwatch.MathExpression({
    expression: `reads_${id} + writes_${id}`,
    usingMetrics: {
      [`reads_${id}`]: table.metric('ReadThrottleEvents', { period: MINUTE, statistic: 'Sum' }),
      [`writes_${id}`]: table.metric('WriteThrottleEvents', { period: MINUTE, statistic: 'Sum' }),
    },
    period: MINUTE,
    label: `${key} throttled requests`,
  });
}
