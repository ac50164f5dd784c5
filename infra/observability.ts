import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  type FunctionKey,
  type FunctionSpec,
  functionSpecs,
  type QueueKey,
  type TableKey,
} from '../shared/wiring.ts';
import { methodSettingsKey } from './api.ts';
import {
  API_STAGE,
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
  tables: Record<TableKey, dynamodb.ITable>;
  queues: Record<QueueKey, QueuePair>;
  alarmTopic: sns.ITopic;
}

const MINUTE = Duration.minutes(1);

/** Alarms (all to the alarm topic) and one dashboard, both derived from the wiring table. */
export class Observability extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

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

    for (const [key, fn] of Object.entries(props.functions) as [FunctionKey, lambda.IFunction][]) {
      alarm(`${key}Errors`, {
        alarmDescription: `${key} failed invocations (unhandled errors or timeouts).`,
        metric: fn.metricErrors({ period: MINUTE, statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      });
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

    this.dashboard = this.buildDashboard(props);
  }

  private buildDashboard(props: ObservabilityProps): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `flash-sale-${props.settings.stage}`,
      defaultInterval: Duration.hours(3),
    });
    const checkout = functionSpecs[CHECKOUT_FUNCTION].http;
    if (!checkout) throw new Error(`${CHECKOUT_FUNCTION} has no http route`);
    const checkoutMetric = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: {
          ApiName: props.api.restApiName,
          Stage: API_STAGE,
          Method: checkout.method,
          Resource: checkout.path,
        },
        statistic,
        period: MINUTE,
        label,
      });
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
