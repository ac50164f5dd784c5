import type * as keys from '../shared/adapters/dynamo/keys.ts';
import { counterKey, dispenserKey, type saleKey } from '../shared/adapters/dynamo/keys.ts';
import type { FunctionKey, TableKey } from '../shared/wiring.ts';

/** IAM StringLike wildcard standing for any sale id, buyer id or dispenser number in a key pattern. */
const ANY = '*';

type KeyBuilder = (...parts: string[]) => string;

/** A key builder of shared/adapters/dynamo/keys.ts turned into an IAM pattern: every part is `*`. */
export function keyPattern(builder: (...parts: never[]) => string): string {
  return (builder as unknown as KeyBuilder)(ANY, ANY, ANY);
}

/**
 * Every key shape of keys.ts, and whether the checkout (placeOrder) may write items of that shape
 * in the sales table (its builder) or not (`undefined`). A new key builder fails to compile until
 * it is classified here, so a new shape is a decision, not an accident. Not the sale item itself
 * (price, window, limit).
 */
export const checkoutWrites = {
  saleKey: undefined,
  dispenserKey,
  // The reconciler's sweep watermark: never written by the checkout.
  sweepKey: undefined,
  counterKey,
  // A claims-table key (unit items), not a sales-table one.
  unitKey: undefined,
} as const satisfies Record<
  keyof typeof keys,
  typeof saleKey | typeof dispenserKey | typeof counterKey | undefined
>;

/**
 * Writes limited by leading key (IAM `dynamodb:LeadingKeys`, ForAllValues:StringLike), per function
 * and table. Data only: a new prefix is a new entry, the CDK code stays as it is.
 */
export const writeScopes: Partial<Record<FunctionKey, Partial<Record<TableKey, string[]>>>> = {
  placeOrder: {
    sales: Object.values(checkoutWrites).flatMap((builder) => (builder ? [keyPattern(builder)] : [])),
  },
};

/** Actions that change an item; only these are limited by a write scope. */
export const WRITE_ACTIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);
