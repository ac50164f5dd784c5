import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** Shows up to `max` dead letters without consuming them (they become visible again at once). */
export async function peekDeadLetters(sqs: SQSClient, dlqUrl: string, max = 50): Promise<Message[]> {
  const seen: Message[] = [];
  while (seen.length < max) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 30,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const batch = out.Messages ?? [];
    if (batch.length === 0) break;
    seen.push(...batch);
  }
  for (let i = 0; i < seen.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: dlqUrl,
        Entries: seen
          .slice(i, i + 10)
          .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle as string, VisibilityTimeout: 0 })),
      }),
    );
  }
  return seen;
}

/**
 * Moves dead letters back to their source queue: same body and group, a fresh deduplication id
 * (the original may still be inside SQS's five-minute window). Each is deleted from the DLQ only
 * after the send succeeded, so a crash mid-redrive duplicates at worst — which the consumers'
 * status conditions make harmless — and never loses a message.
 */
export async function redriveDeadLetters(
  sqs: SQSClient,
  dlqUrl: string,
  sourceUrl: string,
  max = 10_000,
): Promise<number> {
  let moved = 0;
  while (moved < max) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 60,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const batch = out.Messages ?? [];
    if (batch.length === 0) break;
    const stamp = Date.now().toString(36);
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: sourceUrl,
        Entries: batch.map((m, i) => ({
          Id: String(i),
          MessageBody: m.Body ?? '',
          MessageGroupId: m.Attributes?.MessageGroupId ?? m.MessageId,
          MessageDeduplicationId: `${(m.Attributes?.MessageDeduplicationId ?? m.MessageId ?? 'x').slice(0, 100)}-r${stamp}`,
        })),
      }),
    );
    const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
    const done = batch.filter((_, i) => ok.has(String(i)));
    if (done.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: dlqUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
        }),
      );
    }
    moved += done.length;
    if (done.length < batch.length)
      throw new Error(`Redrive stopped: ${batch.length - done.length} message(s) could not be sent back`);
  }
  return moved;
}
