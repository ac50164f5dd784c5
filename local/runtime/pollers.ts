import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type FunctionKey, type FunctionSpec, functionSpecs, type QueueKey } from '../../shared/wiring.ts';
import type { LocalResources } from '../resources.ts';

/** Gives the pollers way: while it says so, a poller waits (up to `maxMs`) before its next receive. */
export interface Yield {
  busy: () => boolean;
  maxMs: number;
}

/**
 * Plays the Lambda SQS event source: batches of up to `batchSize`, partial batch failures honoured.
 * Each poller gives way to the API before it receives (`yieldTo`, see LOCAL_CONSUMER_YIELD_MS).
 */
export class Pollers {
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly sqs: SQSClient,
    private readonly resources: LocalResources,
    private readonly invoke: (fn: FunctionKey, event: unknown) => Promise<unknown>,
    private readonly perConsumer: number,
    private readonly yieldTo?: Yield,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const [key, spec] of Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]) {
      if (!spec.consumes) continue;
      const count = Math.min(spec.consumes.maxConcurrency, this.perConsumer);
      for (let i = 0; i < count; i++)
        this.loops.push(this.loop(key, spec.consumes.queue, spec.consumes.batchSize));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async loop(fn: FunctionKey, queue: QueueKey, batchSize: number): Promise<void> {
    const queueUrl = this.resources.queueUrls[queue];
    while (this.running) {
      await giveWay(this.yieldTo, () => this.running);
      try {
        const out = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) continue;
        const event = sqsEventOf(messages, localQueueArn(queue));
        let failed: Set<string>;
        try {
          const response = (await this.invoke(fn, event)) as SQSBatchResponse | undefined;
          failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        } catch (error) {
          // A thrown handler fails the whole batch, as in Lambda. Powertools throws FullBatchFailureError
          // when every record failed; the consumer has already logged each record's reason.
          if ((error as Error).name !== 'FullBatchFailureError') console.error(`${fn} failed a batch`, error);
          failed = new Set(messages.map((m) => m.MessageId as string));
        }
        const done = messages.filter((m) => !failed.has(m.MessageId as string));
        if (done.length > 0) {
          await this.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
            }),
          );
        }
      } catch (error) {
        if (this.running) {
          console.error(`poller for ${fn} hit an error; retrying`, error);
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
  }
}

/** Waits while `yieldTo` says the API is busy, at most its `maxMs`, and only while `running`. */
export async function giveWay(yieldTo: Yield | undefined, running: () => boolean): Promise<void> {
  if (!yieldTo || yieldTo.maxMs === 0) return;
  const until = Date.now() + yieldTo.maxMs;
  while (running() && yieldTo.busy() && Date.now() < until)
    await new Promise((resolve) => setTimeout(resolve, YIELD_CHECK_MS));
}

/** How often a poller that gives way looks again. */
const YIELD_CHECK_MS = 50;

/** The ARN the local runtime gives a queue of the wiring table in the events it builds. */
export const localQueueArn = (queue: string) => `arn:aws:sqs:local:000000000000:${queue}`;

/** The event Lambda's SQS event source builds from received messages. */
export function sqsEventOf(messages: Message[], queueArn: string, region = 'local'): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId as string,
      receiptHandle: m.ReceiptHandle as string,
      body: m.Body ?? '',
      attributes: m.Attributes as SQSEvent['Records'][number]['attributes'],
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: region,
    })),
  };
}
