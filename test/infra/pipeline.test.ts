import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { deployedFunctions } from '../../infra/deployed.ts';
import { assertQueuesFitConsumers, VISIBILITY_TIMEOUT_FACTOR } from '../../infra/functions.ts';
import { scheduleMinutes } from '../../infra/stateless-stack.ts';
import { type FunctionSpec, functionSpecs, queues } from '../../shared/wiring.ts';
import {
  type Json,
  logicalId,
  mentions,
  props,
  resourcesOfType,
  type Synthesized,
  synth,
} from './support.ts';

/** What the default stack deploys: every wiring function but the TOKEN authorizer (Cognito's own authorizer). */
const fnEntries = deployedFunctions({ target: 'aws' });
const consumers = fnEntries.filter(([, spec]) => spec.consumes);
const scheduled = fnEntries.filter(([, spec]) => spec.schedule);

let s: Synthesized;

beforeAll(() => {
  s = synth();
});

describe('SQS event sources', () => {
  it('maps exactly the wiring consumers', () => {
    expect(consumers.length).toBeGreaterThan(0);
    s.stateless.resourceCountIs('AWS::Lambda::EventSourceMapping', consumers.length);
  });

  it.each(consumers)(
    '%s: batch size, partial batch failures and max concurrency from the wiring',
    (key, spec) => {
      const consumes = spec.consumes as NonNullable<FunctionSpec['consumes']>;
      s.stateless.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: logicalId(s.built.stateless.functions.get(key)) },
        BatchSize: consumes.batchSize,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: consumes.maxConcurrency },
      });
      const mapping = Object.values(resourcesOfType(s.stateless, 'AWS::Lambda::EventSourceMapping')).find(
        (m) => mentions(props(m).FunctionName, logicalId(s.built.stateless.functions.get(key))),
      ) as Json;
      // The main queue (imported from the stateful stack), not its DLQ.
      expect(
        mentions(props(mapping).EventSourceArn, logicalId(s.built.stateful.queues[consumes.queue].queue)),
      ).toBe(true);
      expect(consumes.batchSize).toBeLessThanOrEqual(10);
    },
  );

  it('sizes the payment consumer for the processor given in context (-c processorRatePerSecond)', () => {
    const big = synth({ context: { processorRatePerSecond: '1000', processorLatencyMs: '500' } });
    big.stateless.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(big.built.stateless.functions.get('processPayment')) },
      // 1,000 charges/s × 0.5 s × 1.5 headroom = 750 in flight ÷ 10 per batch.
      ScalingConfig: { MaximumConcurrency: 75 },
    });
  });

  it('refuses a payments queue whose retries outlast PAYMENT_RETRY_SECONDS', () => {
    expect(() =>
      assertQueuesFitConsumers(functionSpecs, {
        ...queues,
        payments: { ...queues.payments, maxReceiveCount: 5 },
      }),
    ).toThrow(/past PAYMENT_RETRY_SECONDS/);
  });

  it.each(consumers)('%s: its queue hides a message for at least six of its timeouts', (key, spec) => {
    const consumes = spec.consumes as NonNullable<FunctionSpec['consumes']>;
    const queue = s.stateful.toJSON().Resources[
      logicalId(s.built.stateful.queues[consumes.queue].queue)
    ] as Json;
    expect(props(queue).VisibilityTimeout as number).toBeGreaterThanOrEqual(
      VISIBILITY_TIMEOUT_FACTOR * spec.timeoutSeconds,
    );
    expect(key).toBeTruthy();
  });

  it('refuses to synthesize a queue whose visibility timeout is under 6x its consumer timeout', () => {
    const slow = {
      ...functionSpecs,
      processOrder: { ...functionSpecs.processOrder, timeoutSeconds: queues.orders.visibilityTimeoutSeconds },
    };
    expect(() => assertQueuesFitConsumers(slow, queues)).toThrow(/orders.*at least/);
    const bigBatch = {
      ...functionSpecs,
      processOrder: {
        ...functionSpecs.processOrder,
        consumes: { queue: 'orders', batchSize: 11, maxConcurrency: 5 },
      },
    } as Record<string, FunctionSpec>;
    expect(() => assertQueuesFitConsumers(bigBatch, queues)).toThrow(/batchSize/);
    expect(() => assertQueuesFitConsumers(functionSpecs, queues)).not.toThrow();
  });
});

describe('schedule', () => {
  it('has one EventBridge rule per scheduled function', () => {
    expect(scheduled.length).toBeGreaterThan(0);
    s.stateless.resourceCountIs('AWS::Events::Rule', scheduled.length);
  });

  it.each(scheduled)(
    '%s: runs at the wiring rate (whole minutes) and may invoke the function',
    (key, spec) => {
      const every = (spec.schedule as NonNullable<FunctionSpec['schedule']>).everySeconds;
      const minutes = scheduleMinutes(every);
      const fnId = logicalId(s.built.stateless.functions.get(key));
      s.stateless.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: minutes === 1 ? 'rate(1 minute)' : `rate(${minutes} minutes)`,
        State: 'ENABLED',
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
            RetryPolicy: { MaximumRetryAttempts: 0 },
          }),
        ],
      });
      s.stateless.hasResourceProperties('AWS::Lambda::Permission', {
        Principal: 'events.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
      });
    },
  );

  it('never runs less often than the wiring asks (EventBridge floor: one minute)', () => {
    expect(scheduleMinutes(60)).toBe(1);
    expect(scheduleMinutes(30)).toBe(1);
    expect(scheduleMinutes(150)).toBe(2);
    expect(scheduleMinutes(300)).toBe(5);
  });
});

describe('order events', () => {
  it('hands the topic ARN to every function that publishes', () => {
    for (const [key, spec] of fnEntries) {
      const fn = s.stateless.toJSON().Resources[logicalId(s.built.stateless.functions.get(key))] as Json;
      const env = ((props(fn).Environment as Json | undefined)?.Variables ?? {}) as Json;
      if (spec.access.publishTo?.includes('orderEvents')) {
        expect(mentions(env.ORDER_EVENTS_TOPIC_ARN, logicalId(s.built.stateful.topics.orderEvents))).toBe(
          true,
        );
      } else {
        expect(env.ORDER_EVENTS_TOPIC_ARN).toBeUndefined();
      }
    }
  });
});
