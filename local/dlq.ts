import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { emulatorCredentials } from '../shared/adapters/aws.ts';
import { peekDeadLetters, redriveDeadLetters } from '../shared/adapters/sqs/dead-letters.ts';
import { type QueueKey, queues } from '../shared/wiring.ts';
import { readRuntimeState } from './state.ts';

/**
 * `npm run dlq -- list <orders|payments>` and `npm run dlq -- redrive <orders|payments>`.
 * Against the running local runtime (found through .local/runtime.json, or SQS_ENDPOINT) or, when
 * neither is there, AWS: queue names from QUEUE_PREFIX, or full URLs in SOURCE_QUEUE_URL / DLQ_URL.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const [command, queue] = process.argv.slice(2);
if ((command !== 'list' && command !== 'redrive') || !(queue && queue in queues)) {
  console.error('Usage: npm run dlq -- list|redrive orders|payments');
  process.exit(2);
}
const key = queue as QueueKey;
const spec = queues[key];
const local = process.env.SQS_ENDPOINT ? undefined : readRuntimeState();
const endpoint = process.env.SQS_ENDPOINT ?? local?.endpoints.sqs;
const sqs = new SQSClient({
  region: process.env.AWS_REGION ?? 'us-east-1',
  ...(endpoint ? { endpoint, credentials: emulatorCredentials() } : {}),
});
const prefix = process.env.QUEUE_PREFIX ?? (endpoint ? 'flash' : '');
const urlOf = async (name: string) =>
  (await sqs.send(new GetQueueUrlCommand({ QueueName: prefix ? `${prefix}-${name}` : name })))
    .QueueUrl as string;
const dlqUrl = process.env.DLQ_URL ?? local?.dlqUrls[key] ?? (await urlOf(spec.dlqName));

if (command === 'list') {
  const letters = await peekDeadLetters(sqs, dlqUrl);
  console.log(`${letters.length} message(s) in ${dlqUrl}`);
  for (const m of letters) {
    console.log(
      `- ${m.MessageId} received ${m.Attributes?.ApproximateReceiveCount ?? '?'}× group ${m.Attributes?.MessageGroupId ?? '-'}: ${m.Body}`,
    );
  }
} else {
  const sourceUrl = process.env.SOURCE_QUEUE_URL ?? local?.queueUrls[key] ?? (await urlOf(spec.name));
  const moved = await redriveDeadLetters(sqs, dlqUrl, sourceUrl);
  console.log(`Moved ${moved} message(s) from ${dlqUrl} back to ${sourceUrl}`);
}
