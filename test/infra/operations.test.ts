import type { LogGroup } from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMISSION_REFUSED_PER_MINUTE } from '../../infra/observability.ts';
import {
  AUTHORIZER_FUNCTION,
  alarmedOutcomes,
  alarmThresholds,
  checkoutOutcomes,
  DEAD_LETTERED_METRIC,
  pipelineOutcomes,
} from '../../infra/settings.ts';
import { roomMetricNames } from '../../shared/usecases/waiting-room.ts';
import {
  type FunctionKey,
  functionSpecs,
  type QueueKey,
  queues,
  type TableKey,
  tables,
} from '../../shared/wiring.ts';
import {
  type Json,
  logicalId,
  mentions,
  props,
  resourcesOfType,
  type Synthesized,
  synth,
} from './support.ts';

const fnKeys = Object.keys(functionSpecs) as FunctionKey[];
const queueKeys = Object.keys(queues) as QueueKey[];
const tableKeys = Object.keys(tables) as TableKey[];

let s: Synthesized;
let alarms: Json[];

beforeAll(() => {
  s = synth({
    context: {
      jwtIssuer: 'https://issuer.example.com',
      jwtAudience: 'flash-sale-api',
      accountConcurrency: '1000',
    },
  });
  alarms = Object.values(resourcesOfType(s.stateless, 'AWS::CloudWatch::Alarm')).map(props);
});

function alarmsOn(metricName: string, dimensionValue?: string): Json[] {
  return alarms.filter((a) => {
    const direct = a.MetricName === metricName;
    const inMath = JSON.stringify(a.Metrics ?? []).includes(`"MetricName":"${metricName}"`);
    if (!direct && !inMath) return false;
    return dimensionValue === undefined || mentions(a.Dimensions ?? a.Metrics, dimensionValue);
  });
}

describe('alarms', () => {
  it('has the expected number of alarms, all notifying the alarm topic', () => {
    const indexCount = tableKeys.reduce((n, key) => n + tables[key].indexes.length, 0);
    const expected =
      queueKeys.length * 2 +
      // API 5xx rate, API 429 rate, checkout p99, account concurrency
      4 +
      fnKeys.length * 2 +
      // the authorizer: real failures and duration instead of Errors
      1 +
      tableKeys.length +
      indexCount +
      Object.keys(alarmedOutcomes).length +
      // the waiting room: a stalled line, checkouts refused for want of admission
      2;
    expect(alarms).toHaveLength(expected);
    const alarmTopic = logicalId(s.built.stateful.alarmTopic);
    for (const alarm of alarms) {
      expect(mentions(alarm.AlarmActions, alarmTopic)).toBe(true);
      expect(mentions(alarm.OKActions, alarmTopic)).toBe(true);
    }
  });

  it.each(queueKeys)('%s: DLQ with any visible message alarms', (key) => {
    const found = alarmsOn('ApproximateNumberOfMessagesVisible', logicalId(s.built.stateful.queues[key].dlq));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      Namespace: 'AWS/SQS',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      Statistic: 'Maximum',
      TreatMissingData: 'notBreaching',
    });
  });

  it.each(queueKeys)('%s: main queue whose oldest message is too old alarms', (key) => {
    const found = alarmsOn('ApproximateAgeOfOldestMessage', logicalId(s.built.stateful.queues[key].queue));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      Threshold: alarmThresholds.queueOldestMessageSeconds,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('alarms on the API 5xx rate of the stage', () => {
    const found = alarmsOn('5XXError');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      Statistic: 'Average',
      Threshold: alarmThresholds.api5xxRate,
      Dimensions: expect.arrayContaining([
        { Name: 'ApiName', Value: 'flash-sale-dev' },
        { Name: 'Stage', Value: { Ref: expect.any(String) } },
      ]),
    });
  });

  it.each(fnKeys.filter((key) => key !== AUTHORIZER_FUNCTION))('%s: Errors and Throttles alarms', (key) => {
    const fnId = logicalId(s.built.stateless.functions.get(key));
    expect(alarmsOn('Errors', fnId)).toHaveLength(1);
    expect(alarmsOn('Throttles', fnId)).toHaveLength(1);
  });

  it('authorizer: no alarm on Errors (a bad token throws Unauthorized), but on real failures, slowness and throttles', () => {
    const fnId = logicalId(s.built.stateless.functions.get('authorizer'));
    expect(alarmsOn('Errors', fnId)).toEqual([]);
    expect(alarmsOn('Throttles', fnId)).toHaveLength(1);
    const duration = alarmsOn('Duration', fnId);
    expect(duration).toHaveLength(1);
    expect(duration[0]).toMatchObject({
      ExtendedStatistic: 'p99',
      Threshold: functionSpecs.authorizer.timeoutSeconds * 1000 * alarmThresholds.authorizerDurationShare,
    });
    const failures = alarmsOn('AuthorizerFailures');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ Namespace: 'FlashSale', Threshold: 0, Statistic: 'Sum' });
    // Fed by metric filters on the authorizer's own log group: crashes that are not Unauthorized, and timeouts.
    const filters = Object.values(resourcesOfType(s.stateless, 'AWS::Logs::MetricFilter'))
      .map(props)
      .filter((f) => (f.MetricTransformations as Json[])[0]?.MetricName === 'AuthorizerFailures');
    expect(filters.map((f) => f.FilterPattern).sort()).toEqual([
      '"Invoke Error" -Unauthorized',
      '"Task timed out"',
    ]);
    for (const f of filters) {
      expect(
        mentions(f.LogGroupName, logicalId(s.built.stateless.functions.logGroups.authorizer as LogGroup)),
      ).toBe(true);
    }
  });

  it.each(tableKeys)('%s: throttled requests alarm (base table)', (key) => {
    const tableId = logicalId(s.built.stateful.tables[key]);
    const read = alarmsOn('ReadThrottleEvents', tableId).filter(
      (a) => !JSON.stringify(a).includes('GlobalSecondaryIndexName'),
    );
    expect(read).toHaveLength(1);
    expect(
      alarmsOn('WriteThrottleEvents', tableId).filter(
        (a) => !JSON.stringify(a).includes('GlobalSecondaryIndexName'),
      ),
    ).toEqual(read);
    expect(read[0]).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });

  it.each(tableKeys.flatMap((key) => tables[key].indexes.map((index) => [key, index.name] as const)))(
    '%s/%s: index throttling alarm',
    (key, indexName) => {
      const found = alarmsOn('WriteThrottleEvents', indexName).filter((a) =>
        mentions(a.Metrics, logicalId(s.built.stateful.tables[key])),
      );
      expect(found).toHaveLength(1);
      expect(JSON.stringify(found[0]?.Metrics)).toContain('ReadThrottleEvents');
      expect(found[0]).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    },
  );

  it('alarms on account-wide Lambda concurrency against the account limit', () => {
    const found = alarms.filter((a) => a.MetricName === 'ConcurrentExecutions');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      Namespace: 'AWS/Lambda',
      Statistic: 'Maximum',
      Threshold: Math.floor(1_000 * alarmThresholds.accountConcurrencyShare),
    });
    expect(found[0]?.Dimensions).toBeUndefined();
    const other = synth({ context: { accountConcurrency: '5000' } });
    const otherAlarm = Object.values(resourcesOfType(other.stateless, 'AWS::CloudWatch::Alarm'))
      .map(props)
      .find((a) => a.MetricName === 'ConcurrentExecutions');
    expect(otherAlarm?.Threshold).toBe(4_000);
  });

  it('alarms on checkout p99 latency at the API method', () => {
    const found = alarms.filter((a) => a.MetricName === 'Latency');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      ExtendedStatistic: 'p99',
      Threshold: alarmThresholds.checkoutP99Ms,
      Dimensions: expect.arrayContaining([
        { Name: 'Method', Value: 'POST' },
        { Name: 'Resource', Value: '/sales/{saleId}/orders' },
      ]),
    });
  });

  it('alarms on the share of requests answered 429 (access-log metric filter over API Count)', () => {
    const found = alarmsOn('Api429');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ Threshold: alarmThresholds.api429Rate });
    const metrics = JSON.stringify(found[0]?.Metrics);
    expect(metrics).toContain('"MetricName":"Count"');
    expect(metrics).toContain('retries / requests');
    const filter = Object.values(resourcesOfType(s.stateless, 'AWS::Logs::MetricFilter'))
      .map(props)
      .find((f) => (f.MetricTransformations as Json[])[0]?.MetricName === 'Api429');
    expect(filter?.FilterPattern).toBe('{ $.status = "429" }');
    expect(mentions(filter?.LogGroupName, logicalId(s.built.stateless.api.accessLogs))).toBe(true);
  });

  it.each(Object.keys(alarmedOutcomes))('%s (Powertools metric) alarms on any occurrence', (metricName) => {
    const found = alarmsOn(metricName);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      Namespace: 'FlashSale',
      Dimensions: [{ Name: 'service', Value: 'flash-sale' }],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });
});

describe('waiting room alarms', () => {
  it('alarms when buyers wait but nobody is admitted for 5 minutes', () => {
    const found = alarmsOn('queueWaiting');
    expect(found).toHaveLength(1);
    expect(JSON.stringify(found[0]?.Metrics)).toContain('queueAdmitted');
    expect(found[0]).toMatchObject({ Threshold: 0, EvaluationPeriods: 5 });
  });

  it('alarms on many checkouts refused for want of an admission token', () => {
    const found = alarmsOn('admissionRefused');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      Threshold: ADMISSION_REFUSED_PER_MINUTE,
      Namespace: 'FlashSale',
      Statistic: 'Sum',
      DatapointsToAlarm: 3,
    });
  });
});

describe('dashboard', () => {
  let body: string;
  beforeAll(() => {
    s.stateless.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const dashboard = Object.values(resourcesOfType(s.stateless, 'AWS::CloudWatch::Dashboard'))[0] as Json;
    body = JSON.stringify(props(dashboard).DashboardBody);
  });

  it('graphs checkout rate and latency for the checkout method', () => {
    for (const metric of ['Count', 'Latency', 'IntegrationLatency', '4XXError', '5XXError']) {
      expect(body).toContain(`\\"${metric}\\"`);
    }
    expect(body).toContain('/sales/{saleId}/orders');
    expect(body).toContain('\\"Duration\\"');
  });

  it('graphs every Powertools outcome metric in the FlashSale namespace by service', () => {
    expect(body).toContain('FlashSale');
    expect(body).toContain('service');
    for (const metric of [...checkoutOutcomes, ...pipelineOutcomes, DEAD_LETTERED_METRIC]) {
      expect(body).toContain(`\\"${metric}\\"`);
    }
  });

  it('has a waiting-room row: joined, admitted, refused, waiting, admitted but unused', () => {
    for (const metric of roomMetricNames) expect(body).toContain(`\\"${metric}\\"`);
  });

  it('graphs queue depth and age, consumer errors and table throttles', () => {
    for (const metric of [
      'ApproximateNumberOfMessagesVisible',
      'ApproximateAgeOfOldestMessage',
      'Errors',
      'Throttles',
      'ReadThrottleEvents',
    ]) {
      expect(body).toContain(`\\"${metric}\\"`);
    }
    for (const key of queueKeys) {
      expect(mentions(body, logicalId(s.built.stateful.queues[key].queue))).toBe(true);
      expect(mentions(body, logicalId(s.built.stateful.queues[key].dlq))).toBe(true);
    }
  });
});
