import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import type { RoomMetric } from '../shared/usecases/waiting-room.ts';
import { type FunctionKey, type FunctionSpec, functionSpecs } from '../shared/wiring.ts';
import { methodSettingsKey } from './api.ts';
import { apiMethodMetric, MINUTE, outcomeMetric, tableThrottles } from './metrics.ts';
import type { ObservabilityProps } from './observability.ts';
import {
  CHECKOUT_FUNCTION,
  checkoutOutcomes,
  DEAD_LETTERED_METRIC,
  METRICS_NAMESPACE,
  pipelineOutcomes,
  SERVICE_NAME,
} from './settings.ts';

/** The `flash-sale-<stage>` dashboard: checkout, outcomes, queues, consumers, tables, alarms. */
export function buildDashboard(
  scope: Construct,
  props: ObservabilityProps,
  alarms: cloudwatch.Alarm[],
): cloudwatch.Dashboard {
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName: `flash-sale-${props.settings.stage}`,
    defaultInterval: Duration.hours(3),
  });
  const checkout = functionSpecs[CHECKOUT_FUNCTION].http;
  if (!checkout) throw new Error(`${CHECKOUT_FUNCTION} has no http route`);
  const checkoutMetric = (metricName: string, statistic: string, label: string) =>
    apiMethodMetric(props.api, checkout, metricName, statistic, label);
  const outcome = (metricName: string) => outcomeMetric(metricName);
  const checkoutFn = props.functions[CHECKOUT_FUNCTION];
  if (!checkoutFn) throw new Error(`${CHECKOUT_FUNCTION} is not deployed`);
  const background = (Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]).flatMap(
    ([key, spec]) => {
      const fn = props.functions[key];
      return fn && (spec.consumes || spec.schedule) ? [[key, fn] as const] : [];
    },
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
      left: background.map(([key, fn]) =>
        fn.metricErrors({ period: MINUTE, statistic: 'Sum', label: `${key} errors` }),
      ),
      right: background.map(([key, fn]) =>
        fn.metricThrottles({
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
    new cloudwatch.GraphWidget({
      title: 'Waiting room: joined, admitted, refused at checkout (per minute)',
      left: (['queueJoined', 'queueAdmitted', 'admissionRefused'] satisfies RoomMetric[]).map(outcome),
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Waiting room: waiting, admitted but unused (maximum)',
      left: (['queueWaiting', 'queueAdmittedUnused'] satisfies RoomMetric[]).map((name) =>
        outcome(name).with({ statistic: 'Maximum' }),
      ),
      width: 12,
    }),
  );
  dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: 4 }));
  return dashboard;
}
