import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { fifoConsumer } from '../../shared/consumer.ts';

const RECORD_MS = 300;

const record = (orderId: string, group = orderId, receives = 1): SQSRecord => ({
  messageId: `m-${orderId}`,
  receiptHandle: `r-${orderId}`,
  body: JSON.stringify({ orderId, saleId: 's1', userId: 'u1' }),
  attributes: {
    ApproximateReceiveCount: String(receives),
    SentTimestamp: '0',
    SenderId: 'test',
    ApproximateFirstReceiveTimestamp: '0',
    MessageGroupId: group,
    MessageDeduplicationId: orderId,
  },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:local:000000000000:payments.fifo',
  awsRegion: 'local',
});

const context = {
  functionName: 'processPayment',
  awsRequestId: 'req',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('fifoConsumer', () => {
  it('runs a batch’s records at once, and a failing record fails only itself', async () => {
    let inFlight = 0;
    let most = 0;
    const handler = fifoConsumer('payments', async (message) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await sleep(RECORD_MS);
      inFlight--;
      if (message.orderId === 'bad') throw new Error('this one fails');
    });
    const ids = ['a', 'b', 'c', 'bad', 'd', 'e', 'f', 'g', 'h', 'i'];
    const started = Date.now();
    const response = (await handler(
      { Records: ids.map((id) => record(id)) } as SQSEvent,
      context,
    )) as SQSBatchResponse;
    const wall = Date.now() - started;
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-bad' }]);
    expect(most).toBe(ids.length);
    // Sequential would take ids.length × RECORD_MS; concurrent about one record's time.
    expect(wall).toBeLessThan(0.5 * ids.length * RECORD_MS);
  });

  it('keeps one group’s records in order: a later record waits for, and fails with, an earlier one', async () => {
    const seen: string[] = [];
    const handler = fifoConsumer('payments', async (message) => {
      seen.push(`start ${message.orderId}`);
      await sleep(20);
      seen.push(`end ${message.orderId}`);
      if (message.orderId === 'first') throw new Error('first fails');
    });
    const first = record('first', 'g1');
    const second = { ...record('second', 'g1'), messageId: 'm-second' };
    const other = record('other', 'g2');
    const response = (await handler(
      { Records: [first, second, other] } as SQSEvent,
      context,
    )) as SQSBatchResponse;
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m-first', 'm-second']);
    expect(seen).not.toContain('start second');
    expect(seen.indexOf('start other')).toBeLessThan(seen.indexOf('end first'));
  });

  it('tells the work when a receive is the queue’s last', async () => {
    const last: boolean[] = [];
    const handler = fifoConsumer(
      'payments',
      async (_message, delivery) => void last.push(delivery.lastAttempt),
    );
    await handler({ Records: [record('x', 'x', 1)] } as SQSEvent, context);
    await handler({ Records: [record('y', 'y', 99)] } as SQSEvent, context);
    expect(last).toEqual([false, true]);
  });
});
