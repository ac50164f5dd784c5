/**
 * Helpers shared by the drill runner and the benchmark for runs against the in-process local
 * runtime: watch stock and open orders straight from DynamoDB, wait for a sale to settle.
 */
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { dispenserKey, saleKey } from '../../shared/adapters/dynamo/keys.ts';
import { DUE_BUCKETS } from '../../shared/domain/order.ts';
import type { StockSample } from './stats.ts';

/**
 * How often a drill looks at the stack it measures. A look at the open orders is 32 queries (one
 * per due bucket) on the very DynamoDB Local the stack uses: at the Artillery drill's old 4-5 looks
 * a second the harness sent ~150 calls/s, more than the crowd's checkouts did.
 */
export const WATCH_EVERY_MS = 1_000;

/** Open orders move slower than stock: a stock sample counts them only this often. */
const OPEN_ORDERS_EVERY_MS = 3_000;

/** Units left in every dispenser (its `available` = cap − issued), read strongly consistent. */
export async function readStock(
  db: DynamoDBDocumentClient,
  salesTable: string,
  saleId: string,
  shards: number,
): Promise<number> {
  let total = 0;
  for (let start = 0; start < shards; start += 100) {
    let keys: Record<string, unknown>[] = Array.from({ length: Math.min(100, shards - start) }, (_, i) => ({
      pk: dispenserKey(saleId, start + i),
    }));
    for (let attempt = 0; keys.length > 0 && attempt < 10; attempt++) {
      const out = await db.send(
        new BatchGetCommand({ RequestItems: { [salesTable]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[salesTable] ?? []) total += Number(item.available);
      keys = (out.UnprocessedKeys?.[salesTable]?.Keys as Record<string, unknown>[] | undefined) ?? [];
    }
  }
  return total;
}

/**
 * Non-terminal orders of a sale, from the orders table's sparse `byDue` index (only open orders
 * carry its keys), so counting costs a few small queries however large the table is.
 */
export async function countOpenOrders(
  db: DynamoDBDocumentClient,
  ordersTable: string,
  saleId: string,
): Promise<number> {
  const counts = await Promise.all(
    Array.from({ length: DUE_BUCKETS }, async (_, bucket) => {
      let count = 0;
      let start: Record<string, unknown> | undefined;
      let pages = 0;
      do {
        const out = await db.send(
          new QueryCommand({
            TableName: ordersTable,
            IndexName: 'byDue',
            KeyConditionExpression: 'dueBucket = :b',
            FilterExpression: 'saleId = :s',
            ExpressionAttributeValues: { ':b': String(bucket), ':s': saleId },
            Select: 'COUNT',
            ExclusiveStartKey: start,
          }),
        );
        count += out.Count ?? 0;
        start = out.LastEvaluatedKey;
      } while (start && ++pages < 1000);
      return count;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * A probe of one sale's units left and open orders, straight from its tables (for sampleStock);
 * the sale's dispenser count is read once, here.
 */
export async function saleProbe(
  db: DynamoDBDocumentClient,
  tables: { sales: string; orders: string },
  saleId: string,
): Promise<() => Promise<{ available: number; open: number }>> {
  const { Item } = await db.send(
    new GetCommand({ TableName: tables.sales, Key: { pk: saleKey(saleId) }, ConsistentRead: true }),
  );
  const shards = Number(Item?.shards ?? 1);
  let open = { count: 0, at: Number.NEGATIVE_INFINITY };
  return async () => {
    const available = await readStock(db, tables.sales, saleId, shards);
    if (Date.now() - open.at >= OPEN_ORDERS_EVERY_MS)
      open = { count: await countOpenOrders(db, tables.orders, saleId), at: Date.now() };
    return { available, open: open.count };
  };
}

/** Samples stock (and open orders) every `everyMs` until stopped; bounded by `maxSamples`. */
export function sampleStock(
  probe: () => Promise<{ available: number; open?: number }>,
  everyMs: number,
  maxSamples = 20_000,
): { samples: StockSample[]; stop(): Promise<void> } {
  const samples: StockSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running && samples.length < maxSamples) {
      const t = Date.now();
      try {
        samples.push({ t, ...(await probe()) });
      } catch {
        // A missed sample only leaves a gap in the chart.
      }
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - t))));
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/**
 * When every order had become terminal, from a sampler's open-order counts: the first sample
 * from which the count stays 0 to the end. Undefined when it never did (or nothing was sampled).
 */
export function settledAtFrom(samples: readonly StockSample[]): number | undefined {
  const withOpen = samples.filter((s) => s.open !== undefined);
  let at: number | undefined;
  for (const s of withOpen) {
    if (s.open === 0) at ??= s.t;
    else at = undefined;
  }
  return at;
}

/** Polls until `probe` returns 0 or the deadline passes; returns when it got there, or undefined. */
export async function waitUntilZero(
  probe: () => Promise<number>,
  timeoutMs: number,
  everyMs = WATCH_EVERY_MS,
): Promise<{ at: number; last: number } | { at: undefined; last: number }> {
  const deadline = Date.now() + timeoutMs;
  let last = Number.NaN;
  for (;;) {
    try {
      last = await probe();
      if (last === 0) return { at: Date.now(), last };
    } catch {
      // transient read failure: try again
    }
    if (Date.now() > deadline) return { at: undefined, last };
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
