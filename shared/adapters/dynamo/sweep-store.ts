import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SweepStore, SweepWatermark } from '../../ports.ts';
import { batchGetAll } from './batch-get.ts';
import { sweepKey, unitKey } from './keys.ts';
import { LIVE_BUCKET } from './sale-store.ts';

/** Sweep watermarks on the sales table, unit items on the claims table, live sales from byLive. */
export class DynamoSweepStore implements SweepStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly salesTable: string,
    private readonly claimsTable: string,
  ) {}

  async liveSales(now: number): Promise<{ saleId: string; dispensers: number }[]> {
    const sales: { saleId: string; dispensers: number }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.salesTable,
          IndexName: 'byLive',
          KeyConditionExpression: 'liveBucket = :live AND sweepUntil >= :now',
          ExpressionAttributeValues: { ':live': LIVE_BUCKET, ':now': now },
          ProjectionExpression: 'saleId, shards',
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? [])
        sales.push({ saleId: String(item.saleId), dispensers: Number(item.shards) });
      start = page.LastEvaluatedKey;
    } while (start);
    return sales;
  }

  async watermarks(saleId: string, dispensers: number): Promise<SweepWatermark[]> {
    const marks: SweepWatermark[] = Array.from({ length: dispensers }, () => ({
      checkedTo: 0,
      pendingIssued: 0,
      pendingSince: 0,
    }));
    const items = await this.batchGet(
      this.salesTable,
      Array.from({ length: dispensers }, (_, d) => sweepKey(saleId, d)),
    );
    for (const item of items) {
      marks[Number(item.dispenser)] = {
        checkedTo: Number(item.checkedTo),
        pendingIssued: Number(item.pendingIssued),
        pendingSince: Number(item.pendingSince),
      };
    }
    return marks;
  }

  async saveWatermark(saleId: string, dispenser: number, watermark: SweepWatermark): Promise<void> {
    // An update, not a put: the reconciler only ever updates items on the sales table.
    await this.db.send(
      new UpdateCommand({
        TableName: this.salesTable,
        Key: { pk: sweepKey(saleId, dispenser) },
        UpdateExpression:
          'SET kind = :kind, saleId = :sale, dispenser = :d, checkedTo = :checked, pendingIssued = :pending, pendingSince = :since',
        ExpressionAttributeValues: {
          ':kind': 'sweep',
          ':sale': saleId,
          ':d': dispenser,
          ':checked': watermark.checkedTo,
          ':pending': watermark.pendingIssued,
          ':since': watermark.pendingSince,
        },
      }),
    );
  }

  async unitsPresent(saleId: string, dispenser: number, from: number, to: number): Promise<Set<number>> {
    const keys = Array.from({ length: to - from + 1 }, (_, i) => unitKey(saleId, dispenser, from + i));
    const items = await this.batchGet(this.claimsTable, keys);
    return new Set(items.map((item) => Number(item.number)));
  }

  /** Strongly consistent. */
  private batchGet(table: string, pks: string[]): Promise<Record<string, unknown>[]> {
    return batchGetAll(
      this.db,
      table,
      pks.map((pk) => ({ pk })),
      { consistent: true },
    );
  }
}
