/**
 * Decoding of a cancelled checkout transaction. DynamoDB reports one reason per item, in the
 * order the items were sent; with ReturnValuesOnConditionCheckFailure=ALL_OLD a failed condition
 * also carries the item as it was.
 */
export interface CancellationReason {
  Code?: string;
  Message?: string;
  Item?: Record<string, unknown>;
}

/** What each transaction item was, in send order. */
export type CheckoutItem =
  | { kind: 'order' }
  | { kind: 'counter' }
  | { kind: 'shard'; shard: number; quantity: number };

export type CheckoutFailure =
  | { kind: 'duplicate'; existing: Record<string, unknown> | undefined }
  | { kind: 'limit'; held: number }
  | { kind: 'notActive' }
  | { kind: 'shortShards'; observed: { shard: number; units: number }[] }
  | { kind: 'contention' };

const contentionCodes = new Set([
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
]);

/**
 * Most decisive reason first: an existing order means this is a retry (replay it), a full buyer
 * counter is final, a shard outside its window means the sale is closed, a short shard only means
 * "try elsewhere", and a conflict or throttle means "try again".
 */
export function decodeCancellation(
  items: readonly CheckoutItem[],
  reasons: readonly CancellationReason[],
): CheckoutFailure {
  const failed = items.map((item, i) => ({ item, reason: reasons[i] ?? {} }));
  const conditional = failed.filter((f) => f.reason.Code === 'ConditionalCheckFailed');

  const order = conditional.find((f) => f.item.kind === 'order');
  if (order) return { kind: 'duplicate', existing: order.reason.Item };

  const counter = conditional.find((f) => f.item.kind === 'counter');
  if (counter) return { kind: 'limit', held: Number(counter.reason.Item?.units ?? 0) };

  const shards = conditional.flatMap((f) =>
    f.item.kind === 'shard' ? [{ item: f.item, old: f.reason.Item }] : [],
  );
  if (shards.some(({ item, old }) => old !== undefined && Number(old.available) >= item.quantity)) {
    // Enough units but the condition failed: the shard's sale window is what refused.
    return { kind: 'notActive' };
  }
  if (shards.length > 0) {
    return {
      kind: 'shortShards',
      observed: shards.map(({ item, old }) => ({ shard: item.shard, units: Number(old?.available ?? 0) })),
    };
  }
  if (failed.some((f) => contentionCodes.has(f.reason.Code ?? ''))) return { kind: 'contention' };
  throw new Error(`Unexpected transaction cancellation: ${JSON.stringify(reasons.map((r) => r.Code))}`);
}
