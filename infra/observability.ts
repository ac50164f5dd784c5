import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  type FunctionKey,
  type FunctionSpec,
  functionSpecs,
  type QueueKey,
  type TableKey,
  tables as tableSpecs,
} from '../shared/wiring.ts';
import { methodSettingsKey } from './api.ts';
import {
  API_STAGE,
  AUTHORIZER_FUNCTION,
  alarmedOutcomes,
  alarmThresholds,
  CHECKOUT_FUNCTION,
  checkoutOutcomes,
  DEAD_LETTERED_METRIC,
  METRICS_NAMESPACE,
  pipelineOutcomes,
  SERVICE_NAME,
  type Settings,
} from './settings.ts';
import type { QueuePair } from './stateful-stack.ts';

export interface ObservabilityProps {
  settings: Settings;
  api: apigw.RestApi;
  functions: Record<FunctionKey, lambda.IFunction>;
  logGroups: Record<FunctionKey, logs.ILogGroup>;
  /** The API's access log group (JSON lines with `status`). */
  accessLogs: logs.ILogGroup;
  tables: Record<TableKey, dynamodb.ITable>;
  queues: Record<QueueKey, QueuePair>;
  alarmTopic: sns.ITopic;
}

const MINUTE = Duration.minutes(1);

/**
 * Alarms (all to the alarm topic) and one dashboard, both derived from the wiring table. The
 * localstack target has no dashboard (no CloudFormation provider in LocalStack Community) and no
 * alarm fed by a log metric filter (neither).
 */
export class Observability extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard?: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const alarmAction = new actions.SnsAction(props.alarmTopic);
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...alarmProps,
      });
      created.addAlarmAction(alarmAction);
      created.addOkAction(alarmAction);
      this.alarms.push(created);
      return created;
    };

    for (const [key, { queue, dlq }] of Object.entries(props.queues) as [QueueKey, QueuePair][]) {
      alarm(`${key}DlqNotEmpty`, {
        alarmDescription: `Messages in the ${key} DLQ: inspect, fix, then redrive them (docs/DEPLOY.md).`,
        metric: dlq.metricApproximateNumberOfMessagesVisible({ period: MINUTE, statistic: 'Maximum' }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
      alarm(`${key}QueueOldestMessage`, {
        alarmDescription: `The oldest message in the ${key} queue is older than ${alarmThresholds.queueOldestMessageSeconds} s: its consumer is failing or far behind.`,
        metric: queue.metricApproximateAgeOfOldestMessage({ period: MINUTE, statistic: 'Maximum' }),
        threshold: alarmThresholds.queueOldestMessageSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
      });
    }

    const stage = props.api.deploymentStage;
    alarm('Api5xxRate', {
      alarmDescription: `More than ${alarmThresholds.api5xxRate * 100}% of API requests answered 5xx.`,
      metric: stage.metricServerError({ period: MINUTE, statistic: 'Average' }),
      threshold: alarmThresholds.api5xxRate,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
    });

    const cloud = props.settings.target === 'aws';
    if (cloud) {
      const requests = stage.metricCount({ period: MINUTE, statistic: 'Sum' });
      const retries = logMetric(this, 'Api429', props.accessLogs, [
        logs.FilterPattern.stringValue('$.status', '=', '429'),
      ]);
      alarm('Api429Rate', {
        alarmDescription: `More than ${alarmThresholds.api429Rate * 100}% of API requests answered 429 RETRY for 3 minutes: throttles, reserved concurrency or warm capacity are short of demand (docs/DEPLOY.md, capacity:raise).`,
        metric: new cloudwatch.MathExpression({
          expression: 'IF(requests > 0, retries / requests, 0)',
          usingMetrics: { retries, requests },
          period: MINUTE,
        }),
        threshold: alarmThresholds.api429Rate,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
      });
    }
    const checkout = functionSpecs[CHECKOUT_FUNCTION].http;
    if (!checkout) throw new Error(`${CHECKOUT_FUNCTION} has no http route`);
    alarm('CheckoutLatencyP99', {
      alarmDescription: `Checkout p99 latency at the API above ${alarmThresholds.checkoutP99Ms} ms for 3 minutes.`,
      metric: apiMethodMetric(props.api, checkout, 'Latency', 'p99'),
      threshold: alarmThresholds.checkoutP99Ms,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
    });
    const accountLimit = props.settings.accountConcurrencyLimit;
    alarm('AccountConcurrency', {
      alarmDescription: `Lambda concurrency in this account and region above ${alarmThresholds.accountConcurrencyShare * 100}% of ${accountLimit} (-c accountConcurrencyLimit): new invocations are about to be throttled everywhere.`,
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName: 'ConcurrentExecutions',
        statistic: 'Maximum',
        period: MINUTE,
      }),
      threshold: Math.floor(accountLimit * alarmThresholds.accountConcurrencyShare),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
    });

    for (const [key, fn] of Object.entries(props.functions) as [FunctionKey, lambda.IFunction][]) {
      if (key === AUTHORIZER_FUNCTION) {
        // A bad token makes the authorizer throw `Unauthorized`, which Lambda counts as an error:
        // its Errors metric is mostly buyers' expired tokens. Alarm on real failures instead:
        // crashes other than Unauthorized and timeouts (log metric filter), and slowness.
        if (cloud) {
          alarm(`${key}Failures`, {
            alarmDescription: `${key} failed for reasons other than a bad token (crash, timeout, JWKS unreachable): buyers get 429/500 instead of an answer.`,
            metric: logMetric(
              this,
              'AuthorizerFailures',
              props.logGroups[key],
              // Unstructured Lambda runtime lines; both filters feed one metric.
              [
                logs.FilterPattern.literal('"Invoke Error" -Unauthorized'),
                logs.FilterPattern.literal('"Task timed out"'),
              ],
            ),
            threshold: 0,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 3,
            datapointsToAlarm: 2,
          });
        }
        alarm(`${key}Duration`, {
          alarmDescription: `${key} p99 duration above ${alarmThresholds.authorizerDurationShare * 100}% of its timeout: token checks are about to time out.`,
          metric: fn.metricDuration({ period: MINUTE, statistic: 'p99' }),
          threshold: functionSpecs[key].timeoutSeconds * 1000 * alarmThresholds.authorizerDurationShare,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
        });
      } else {
        alarm(`${key}Errors`, {
          alarmDescription: `${key} failed invocations (unhandled errors or timeouts).`,
          metric: fn.metricErrors({ period: MINUTE, statistic: 'Sum' }),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
        });
      }
      alarm(`${key}Throttles`, {
        alarmDescription: `${key} invocations throttled (account or function concurrency).`,
        metric: fn.metricThrottles({ period: MINUTE, statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      });
    }

    for (const [key, table] of Object.entries(props.tables) as [TableKey, dynamodb.ITable][]) {
      alarm(`${key}TableThrottles`, {
        alarmDescription: `Throttled requests on the ${key} table (hot partition or on-demand scaling).`,
        metric: tableThrottles(table, key),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      });
      for (const index of tableSpecs[key].indexes) {
        alarm(`${key}${index.name}IndexThrottles`, {
          alarmDescription: `Throttled requests on index ${index.name} of the ${key} table; a throttled GSI also throttles writes to its table.`,
          metric: indexThrottles(table, key, index.name),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
        });
      }
    }

    for (const [metricName, description] of Object.entries(alarmedOutcomes)) {
      alarm(`${metricName}Alarm`, {
        alarmDescription: description,
        metric: outcomeMetric(metricName, false),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
      });
    }

    if (cloud) this.dashboard = this.buildDashboard(props);
  }

  private buildDashboard(props: ObservabilityProps): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `flash-sale-${props.settings.stage}`,
      defaultInterval: Duration.hours(3),
    });
    const checkout = functionSpecs[CHECKOUT_FUNCTION].http;
    if (!checkout) throw new Error(`${CHECKOUT_FUNCTION} has no http route`);
    const checkoutMetric = (metricName: string, statistic: string, label: string) =>
      apiMethodMetric(props.api, checkout, metricName, statistic, label);
    const outcome = (metricName: string) => outcomeMetric(metricName);
    const checkoutFn = props.functions[CHECKOUT_FUNCTION];
    const background = (Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]).filter(
      ([, spec]) => spec.consumes || spec.schedule,
    );

    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# Flash sale (${props.settings.stage})\nCheckout is \`${checkout.method} ${checkout.path}\` (throttle key \`${methodSettingsKey(checkout)}\`). Outcomes are Powertools metrics in \`${METRICS_NAMESPACE}\` (service=${SERVICE_NAME}).`,
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Checkout requests per minute',
        left: [
          checkoutMetric('Count', 'Sum', 'requests'),
          checkoutMetric('4XXError', 'Sum', '4xx'),
          checkoutMetric('5XXError', 'Sum', '5xx'),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Checkout latency (ms)',
        left: [
          checkoutMetric('Latency', 'p50', 'API p50'),
          checkoutMetric('Latency', 'p99', 'API p99'),
          checkoutMetric('IntegrationLatency', 'p99', 'integration p99'),
          checkoutFn.metricDuration({ period: MINUTE, statistic: 'p99', label: 'Lambda p99' }),
        ],
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Checkout outcomes per minute',
        left: checkoutOutcomes.map(outcome),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Order pipeline outcomes per minute',
        left: [...pipelineOutcomes, DEAD_LETTERED_METRIC].map(outcome),
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Queue depth (visible messages)',
        left: Object.entries(props.queues).flatMap(([key, { queue, dlq }]) => [
          queue.metricApproximateNumberOfMessagesVisible({
            period: MINUTE,
            statistic: 'Maximum',
            label: key,
          }),
          dlq.metricApproximateNumberOfMessagesVisible({
            period: MINUTE,
            statistic: 'Maximum',
            label: `${key} DLQ`,
          }),
        ]),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Age of oldest message (s)',
        left: Object.entries(props.queues).map(([key, { queue }]) =>
          queue.metricApproximateAgeOfOldestMessage({ period: MINUTE, statistic: 'Maximum', label: key }),
        ),
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Consumer and schedule errors',
        left: background.map(([key]) =>
          props.functions[key].metricErrors({ period: MINUTE, statistic: 'Sum', label: `${key} errors` }),
        ),
        right: background.map(([key]) =>
          props.functions[key].metricThrottles({
            period: MINUTE,
            statistic: 'Sum',
            label: `${key} throttles`,
          }),
        ),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'DynamoDB throttled requests',
        left: Object.entries(props.tables).map(([key, table]) => tableThrottles(table, key)),
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 }),
    );
    return dashboard;
  }
}

/** An API Gateway metric of one method (per-method metrics are on for the stage). */
function apiMethodMetric(
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
function logMetric(
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
function indexThrottles(table: dynamodb.ITable, key: string, indexName: string): cloudwatch.IMetric {
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
function outcomeMetric(metricName: string, labelled = true): cloudwatch.Metric {
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
function tableThrottles(table: dynamodb.ITable, key: string): cloudwatch.IMetric {
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
