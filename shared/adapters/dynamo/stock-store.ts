import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { NumberSpan } from '../../domain/in-flight.ts';
import { type NumberRange, numbersOf } from '../../domain/stock.ts';
import { type StockStore, StoreBusyError, type TakeResult } from '../../ports.ts';
import { batchGetAll } from './batch-get.ts';
import { isTransient, readOrBusy } from './errors.ts';
import { dispenserKey, unitKey } from './keys.ts';

/**
 * Dispensers on the sales table (`issued`, `cap`, and `available` = cap − issued kept beside them,
 * because a condition expression cannot do arithmetic) and the unit items on the claims table.
 */
export class DynamoStockStore implements StockStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly salesTable: string,
    private readonly claimsTable: string,
  ) {}

  async take(
    saleId: string,
    dispenser: number,
    quantity: number,
    now: number,
    signal?: AbortSignal,
  ): Promise<TakeResult> {
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.salesTable,
          Key: { pk: dispenserKey(saleId, dispenser) },
          UpdateExpression: 'SET issued = issued + :q, available = available - :q',
          ConditionExpression: 'available >= :q AND opensAt <= :now AND closesAt > :now',
          ExpressionAttributeValues: { ':q': quantity, ':now': now },
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        { abortSignal: signal },
      );
      const issued = Number(out.Attributes?.issued);
      return { ok: true, range: { dispenser, first: issued - quantity + 1, count: quantity } };
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'ConditionalCheckFailedException') {
        const old = itemOf((error as { Item?: Record<string, unknown> }).Item);
        if (!old) return { ok: false, kind: 'short', remaining: 0 };
        const remaining = Number(old.available) || 0;
        // Enough numbers but the condition failed: the dispenser's sale window is what refused.
        return remaining >= quantity
          ? { ok: false, kind: 'closed' }
          : { ok: false, kind: 'short', remaining };
      }
      // Whether or not DynamoDB applied it, this take's numbers are unknown to us: if it did, the
      // sweep finds them unclaimed after its grace and gives them back.
      if (isTransient(error)) return { ok: false, kind: 'busy' };
      throw error;
    }
  }

  async settled(saleId: string, span: NumberSpan, signal?: AbortSignal): Promise<Set<number>> {
    const keys = Array.from({ length: span.to - span.from + 1 }, (_, i) => ({
      pk: unitKey(saleId, span.dispenser, span.from + i),
    }));
    const items = await readOrBusy('unit items', () =>
      batchGetAll(this.db, this.claimsTable, keys, {
        consistent: true,
        projection: '#n',
        names: { '#n': 'number' },
        signal,
      }),
    );
    return new Set(items.map((item) => Number(item.number)));
  }

  async giveBack(saleId: string, ranges: readonly NumberRange[], signal?: AbortSignal): Promise<number> {
    const byDispenser = new Map<number, number[]>();
    for (const { dispenser, number } of numbersOf(ranges)) {
      byDispenser.set(dispenser, [...(byDispenser.get(dispenser) ?? []), number]);
    }
    let returned = 0;
    for (const [dispenser, numbers] of byDispenser) {
      // A transaction holds 100 items: the markers and the one dispenser update.
      for (let i = 0; i < numbers.length; i += 99) {
        returned += await this.giveBackTo(saleId, dispenser, numbers.slice(i, i + 99), signal);
      }
    }
    return returned;
  }

  private async giveBackTo(
    saleId: string,
    dispenser: number,
    numbers: number[],
    signal?: AbortSignal,
  ): Promise<number> {
    let pending = numbers;
    const returnedAt = new Date().toISOString();
    for (let attempt = 1; pending.length > 0; attempt++) {
      try {
        await this.db.send(
          new TransactWriteCommand({
            TransactItems: [
              ...pending.map((number) => ({
                Put: {
                  TableName: this.claimsTable,
                  Item: {
                    pk: unitKey(saleId, dispenser, number),
                    saleId,
                    dispenser,
                    number,
                    state: 'returned',
                    returnedAt,
                  },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              })),
              {
                Update: {
                  TableName: this.salesTable,
                  Key: { pk: dispenserKey(saleId, dispenser) },
                  UpdateExpression: 'ADD cap :n, available :n',
                  ConditionExpression: 'attribute_exists(pk)',
                  ExpressionAttributeValues: { ':n': pending.length },
                },
              },
            ],
          }),
          { abortSignal: signal },
        );
        return pending.length;
      } catch (error) {
        const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
        if (reasons) {
          // A number with a unit item already is claimed (or returned): it is not ours to give back.
          const held = new Set(pending.filter((_, i) => reasons[i]?.Code === 'ConditionalCheckFailed'));
          if (held.size > 0) {
            pending = pending.filter((n) => !held.has(n));
            continue;
          }
        }
        if (!(reasons || isTransient(error))) throw error;
        if (attempt >= 5 || signal?.aborted) {
          throw new StoreBusyError('could not give numbers back now', { cause: error });
        }
        await new Promise((r) => setTimeout(r, Math.random() * 10 * 2 ** attempt));
      }
    }
    return 0;
  }
}

/** Errors are not unmarshalled by the document client: an old item may arrive as AttributeValues. */
function itemOf(item: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!item) return undefined;
  const looksRaw = Object.values(item).every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
  return looksRaw ? unmarshall(item as Record<string, AttributeValue>) : item;
}
