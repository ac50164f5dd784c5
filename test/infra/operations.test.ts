import { beforeAll, describe, expect, it } from 'vitest';
import {
  alarmedOutcomes,
  alarmThresholds,
  checkoutOutcomes,
  DEAD_LETTERED_METRIC,
  pipelineOutcomes,
} from '../../infra/settings.ts';
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
  s = synth();
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
    const expected =
      queueKeys.length * 2 + 1 + fnKeys.length * 2 + tableKeys.length + Object.keys(alarmedOutcomes).length;
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

  it.each(fnKeys)('%s: Errors and Throttles alarms', (key) => {
    const fnId = logicalId(s.built.stateless.functions.functions[key]);
    expect(alarmsOn('Errors', fnId)).toHaveLength(1);
    expect(alarmsOn('Throttles', fnId)).toHaveLength(1);
  });

  it.each(tableKeys)('%s: throttled requests alarm', (key) => {
    const tableId = logicalId(s.built.stateful.tables[key]);
    const read = alarmsOn('ReadThrottleEvents', tableId);
    expect(read).toHaveLength(1);
    expect(alarmsOn('WriteThrottleEvents', tableId)).toEqual(read);
    expect(read[0]).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
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
