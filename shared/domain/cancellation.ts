/**
 * Decoding of a cancelled claim transaction. DynamoDB reports one reason per item, in the order
 * the items were sent; with ReturnValuesOnConditionCheckFailure=ALL_OLD a failed condition also
 * carries the item as it was.
 */
export interface CancellationReason {
  Code?: string;
  Message?: string;
  Item?: Record<string, unknown>;
}

/** What each item of the claim transaction was, in send order. */
export type ClaimItem = { kind: 'order' } | { kind: 'counter' } | { kind: 'unit' };

export type ClaimFailure =
  | { kind: 'duplicate'; existing: Record<string, unknown> | undefined }
  | { kind: 'limit'; held: number }
  /** A number already has a unit item: the sweep returned it, so it is no longer this buyer's. */
  | { kind: 'numberGone' }
  | { kind: 'busy' };

const busyCodes = new Set([
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
]);

/**
 * Most decisive reason first: an existing order means this is a retry (replay it), a full buyer
 * counter is final, a number already marked means it was swept back, and a conflict or throttle
 * means "try again".
 */
export function decodeCancellation(
  items: readonly ClaimItem[],
  reasons: readonly CancellationReason[],
): ClaimFailure {
  const failed = items.map((item, i) => ({ item, reason: reasons[i] ?? {} }));
  const conditional = failed.filter((f) => f.reason.Code === 'ConditionalCheckFailed');

  const order = conditional.find((f) => f.item.kind === 'order');
  if (order) return { kind: 'duplicate', existing: order.reason.Item };

  const counter = conditional.find((f) => f.item.kind === 'counter');
  if (counter) return { kind: 'limit', held: Number(counter.reason.Item?.units ?? 0) };

  if (conditional.some((f) => f.item.kind === 'unit')) return { kind: 'numberGone' };
  if (failed.some((f) => busyCodes.has(f.reason.Code ?? ''))) return { kind: 'busy' };
  throw new Error(`Unexpected transaction cancellation: ${JSON.stringify(reasons.map((r) => r.Code))}`);
}
