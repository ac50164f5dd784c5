import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Sale } from '../../domain/sale.ts';
import type { SaleStore } from '../../ports.ts';
import { saleKey, shardKey } from './keys.ts';

export class DynamoSaleStore implements SaleStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(sale: Sale, shardUnits: number[]): Promise<boolean> {
    const opensAt = Date.parse(sale.startsAt);
    const closesAt = Date.parse(sale.endsAt);
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: { pk: saleKey(sale.saleId), kind: 'sale', ...sale },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            // The window travels with every shard so the checkout condition never reads the sale item.
            ...shardUnits.map((available, shard) => ({
              Put: {
                TableName: this.table,
                Item: {
                  pk: shardKey(sale.saleId, shard),
                  kind: 'shard',
                  saleId: sale.saleId,
                  shard,
                  available,
                  opensAt,
                  closesAt,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            })),
          ],
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async get(saleId: string): Promise<Sale | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: saleKey(saleId) } }),
    );
    if (!Item) return undefined;
    const { pk: _pk, kind: _kind, ...sale } = Item;
    return sale as Sale;
  }

  async readShards(saleId: string, shards: number, consistent: boolean): Promise<number[]> {
    const units = new Array<number>(shards).fill(0);
    let keys: Record<string, unknown>[] = Array.from({ length: shards }, (_, shard) => ({
      pk: shardKey(saleId, shard),
    }));
    // BatchGet takes 100 keys at most and may hand some back unprocessed.
    while (keys.length > 0) {
      const chunk = keys.slice(0, 100);
      keys = keys.slice(100);
      const out = await this.db.send(
        new BatchGetCommand({
          RequestItems: {
            [this.table]: {
              Keys: chunk,
              ConsistentRead: consistent,
              ProjectionExpression: '#shard, available',
              ExpressionAttributeNames: { '#shard': 'shard' },
            },
          },
        }),
      );
      for (const item of out.Responses?.[this.table] ?? [])
        units[Number(item.shard)] = Number(item.available);
      keys.push(
        ...((out.UnprocessedKeys?.[this.table]?.Keys as Record<string, unknown>[] | undefined) ?? []),
      );
    }
    return units;
  }
}

export function isConditionFailure(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  if (name === 'ConditionalCheckFailedException') return true;
  if (name === 'TransactionCanceledException') {
    const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
    return reasons.some((r) => r.Code === 'ConditionalCheckFailed');
  }
  return false;
}
