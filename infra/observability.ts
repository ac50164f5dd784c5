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
  functionSpecs,
  type QueueKey,
  type TableKey,
  tables as tableSpecs,
} from '../shared/wiring.ts';
import { buildDashboard } from './dashboard.ts';
import {
  apiMethodMetric,
  indexThrottles,
  logMetric,
  MINUTE,
  outcomeMetric,
  tableThrottles,
} from './metrics.ts';
import {
  AUTHORIZER_FUNCTION,
  alarmedOutcomes,
  alarmThresholds,
  CHECKOUT_FUNCTION,
  type Settings,
} from './settings.ts';
import type { QueuePair } from './stateful-stack.ts';

export interface ObservabilityProps {
  settings: Settings;
  api: apigw.RestApi;
  /** The deployed functions (no TOKEN authorizer behind Cognito's own). */
  functions: Partial<Record<FunctionKey, lambda.IFunction>>;
  logGroups: Partial<Record<FunctionKey, logs.ILogGroup>>;
  /** The API's access log group (JSON lines with `status`). */
  accessLogs: logs.ILogGroup;
  tables: Record<TableKey, dynamodb.ITable>;
  queues: Record<QueueKey, QueuePair>;
  alarmTopic: sns.ITopic;
}

/**
 * Alarms (all to the alarm topic) and one dashboard, both derived from the wiring table. The
 * localstack target has no dashboard (no CloudFormation provider in LocalStack Community) and no
 * alarm fed by a log metric filter (neither).
 */
/** Checkouts refused per minute for want of an admission token before it alarms (a few are normal). */
export const ADMISSION_REFUSED_PER_MINUTE = 50;

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
    const accountLimit = props.settings.accountConcurrency;
    alarm('AccountConcurrency', {
      alarmDescription: `Lambda concurrency in this account and region above ${alarmThresholds.accountConcurrencyShare * 100}% of ${accountLimit} (-c accountConcurrency): new invocations are about to be throttled everywhere.`,
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
              props.logGroups[key] as logs.ILogGroup,
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

    // The waiting room (shared/usecases/waiting-room.ts emits these; gauges are read as Maximum).
    alarm('waitingRoomStalled', {
      alarmDescription:
        "Buyers are waiting in a sale's line but nobody was admitted for 5 minutes: a room paused and forgotten, admitPerSecond 0, or the status route failing. Check PATCH /sales/{id} and the queueStatus logs.",
      metric: new cloudwatch.MathExpression({
        expression: 'IF(waiting > 0 AND admitted == 0, 1, 0)',
        usingMetrics: {
          waiting: outcomeMetric('queueWaiting', false).with({ statistic: 'Maximum' }),
          admitted: outcomeMetric('queueAdmitted', false),
        },
        period: MINUTE,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
    });
    alarm('admissionRefusedAlarm', {
      alarmDescription:
        'Many checkouts refused for want of a valid admission token: a client not sending Admission-Token, tokens expiring before buyers reach the checkout (raise tokenSeconds), or bots skipping the line.',
      metric: outcomeMetric('admissionRefused', false),
      threshold: ADMISSION_REFUSED_PER_MINUTE,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
    });

    if (cloud) this.dashboard = buildDashboard(this, props, this.alarms);
  }
}
