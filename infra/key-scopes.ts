import type * as keys from '../shared/adapters/dynamo/keys.ts';
import {
  counterKey,
  dispenserKey,
  queueCounterKey,
  saleKey,
  sweepKey,
  ticketKey,
  unitKey,
} from '../shared/adapters/dynamo/keys.ts';
import type { FunctionKey, TableKey } from '../shared/wiring.ts';

/** IAM StringLike wildcard standing for any sale id, buyer id or number in a key pattern. */
const ANY = '*';

type KeyBuilder = (...parts: string[]) => string;
type KeyShape = keyof typeof keys;

/** Every key builder of keys.ts by name (a new one fails to compile until it is listed). */
const builders = {
  saleKey,
  dispenserKey,
  sweepKey,
  counterKey,
  ticketKey,
  queueCounterKey,
  unitKey,
} satisfies Record<KeyShape, (...parts: never[]) => string>;

/** A key builder of shared/adapters/dynamo/keys.ts turned into an IAM pattern: every part is `*`. */
export function keyPattern(builder: (...parts: never[]) => string): string {
  return (builder as unknown as KeyBuilder)(ANY, ANY, ANY);
}

/**
 * Every key shape of keys.ts and the functions that may write items of that shape in the sales
 * table. A new key builder fails to compile until it is classified here, so a new shape is a
 * decision, not an accident; a function not listed for a shape cannot write it (IAM
 * `dynamodb:LeadingKeys`). Reads stay unconditioned.
 */
export const salesKeyWriters = {
  // The sale item (price, window, limit, waiting room): created by createSale, changed by updateSale.
  saleKey: ['createSale', 'updateSale'],
  // Stock dispensers: created with the sale, taken by the checkout, given back by every release.
  dispenserKey: ['createSale', 'placeOrder', 'cancelOrder', 'processPayment', 'reconcile'],
  // The reconciler's sweep watermark: never written on the buy path.
  sweepKey: ['reconcile'],
  // Buyer counters: raised by the checkout, lowered by every release.
  counterKey: ['placeOrder', 'cancelOrder', 'processPayment', 'reconcile'],
  // Waiting room tickets and queue-number counters.
  ticketKey: ['joinQueue'],
  queueCounterKey: ['joinQueue'],
  // A claims-table key (unit items), not a sales-table one.
  unitKey: [],
} as const satisfies Record<KeyShape, readonly FunctionKey[]>;

/** Tables whose writers must each have a write scope (infra/access.ts refuses an unscoped one). */
export const SCOPED_TABLES: readonly TableKey[] = ['sales'];

export interface WriteScope {
  /** LeadingKeys a write may name (ForAllValues:StringLike). */
  allow: string[];
  /**
   * LeadingKeys a write may never name (ForAnyValue:StringLike, Deny): the other shapes an allowed
   * pattern would also match. IAM's `*` spans `#`, so the sale item's `SALE#*` alone would cover
   * every key of the table.
   */
  deny: string[];
}

/** IAM StringLike as a RegExp (`*` any run, `?` one character). */
export function stringLike(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

function scopeOf(fn: FunctionKey): WriteScope | undefined {
  const shapes = (Object.keys(salesKeyWriters) as KeyShape[]).filter((shape) => shape !== 'unitKey');
  const writes = (shape: KeyShape) => (salesKeyWriters[shape] as readonly FunctionKey[]).includes(fn);
  const allow = shapes.filter(writes).map((shape) => keyPattern(builders[shape]));
  if (allow.length === 0) return undefined;
  const others = shapes.filter((shape) => !writes(shape)).map((shape) => keyPattern(builders[shape]));
  const deny = others.filter(
    (other) =>
      allow.some((own) => stringLike(own).test(other)) && !allow.some((own) => stringLike(other).test(own)),
  );
  return { allow, deny };
}

/**
 * Writes limited by leading key, per function and table, derived from `salesKeyWriters`. Data
 * only: a new prefix is a new entry there, the CDK code stays as it is.
 */
export const writeScopes: Partial<Record<FunctionKey, Partial<Record<TableKey, WriteScope>>>> =
  Object.fromEntries(
    [...new Set(Object.values(salesKeyWriters).flat())].flatMap((fn) => {
      const scope = scopeOf(fn);
      return scope ? [[fn, { sales: scope }]] : [];
    }),
  );

/** Actions that change an item; only these are limited by a write scope. */
export const WRITE_ACTIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);
