import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface BatchGetOptions {
  consistent?: boolean;
  projection?: string;
  names?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Every item found for `keys` in one table. BatchGetItem takes at most 100 keys a call and may hand
 * some back unprocessed (throttled partitions): those are sent again after a short jittered pause,
 * as the DynamoDB guide asks, until none are left.
 */
export async function batchGetAll(
  db: DynamoDBDocumentClient,
  table: string,
  keys: Record<string, unknown>[],
  options: BatchGetOptions = {},
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let pending = [...keys];
  for (let unprocessedRounds = 0; pending.length > 0; ) {
    const chunk = pending.slice(0, 100);
    pending = pending.slice(100);
    const out = await db.send(
      new BatchGetCommand({
        RequestItems: {
          [table]: {
            Keys: chunk,
            ...(options.consistent ? { ConsistentRead: true } : {}),
            ...(options.projection ? { ProjectionExpression: options.projection } : {}),
            ...(options.names ? { ExpressionAttributeNames: options.names } : {}),
          },
        },
      }),
      { abortSignal: options.signal },
    );
    items.push(...(out.Responses?.[table] ?? []));
    const unprocessed = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
    if (unprocessed.length > 0) {
      unprocessedRounds++;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.random() * Math.min(200, 10 * 2 ** unprocessedRounds)),
      );
      pending.push(...unprocessed);
    }
  }
  return items;
}
