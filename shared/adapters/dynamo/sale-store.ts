import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Sale } from '../../domain/sale.ts';
import type { DispenserState } from '../../domain/stock.ts';
import type { SaleStore } from '../../ports.ts';
import { batchGetAll } from './batch-get.ts';
import { isConditionFailure, readOrBusy } from './errors.ts';
import { dispenserKey, saleKey } from './keys.ts';

/** The sparse byLive index's one partition: only sale items carry it, so the sweep finds live sales. */
export const LIVE_BUCKET = 'live';

/** How long after its end the sweep still looks at a sale: numbers taken in its last seconds. */
export const SWEEP_AFTER_END_MS = 3_600_000;

export class DynamoSaleStore implements SaleStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(sale: Sale, caps: number[]): Promise<boolean> {
    const opensAt = Date.parse(sale.startsAt);
    const closesAt = Date.parse(sale.endsAt);
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                // liveBucket/sweepUntil put the sale (and nothing else) on the sparse byLive index.
                Item: {
                  pk: saleKey(sale.saleId),
                  kind: 'sale',
                  ...sale,
                  liveBucket: LIVE_BUCKET,
                  sweepUntil: closesAt + SWEEP_AFTER_END_MS,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            // The window travels with every dispenser so the take's condition never reads the sale item.
            ...caps.map((cap, dispenser) => ({
              Put: {
                TableName: this.table,
                Item: {
                  pk: dispenserKey(sale.saleId, dispenser),
                  kind: 'dispenser',
                  saleId: sale.saleId,
                  dispenser,
                  issued: 0,
                  cap,
                  available: cap,
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
    const { pk: _pk, kind: _kind, liveBucket: _live, sweepUntil: _until, ...sale } = Item;
    return sale as Sale;
  }

  async readDispensers(
    saleId: string,
    dispensers: number,
    consistent: boolean,
    signal?: AbortSignal,
  ): Promise<DispenserState[]> {
    const states = Array.from({ length: dispensers }, () => ({ issued: 0, cap: 0 }));
    const keys = Array.from({ length: dispensers }, (_, d) => ({ pk: dispenserKey(saleId, d) }));
    const items = await readOrBusy('dispensers', () =>
      batchGetAll(this.db, this.table, keys, { consistent, projection: 'dispenser, issued, cap', signal }),
    );
    for (const item of items)
      states[Number(item.dispenser)] = { issued: Number(item.issued), cap: Number(item.cap) };
    return states;
  }
}
