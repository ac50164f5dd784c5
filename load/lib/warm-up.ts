/**
 * Warm-up before a measured run: DynamoDB Local's JVM needs traffic before it runs at full speed,
 * so a closed-loop crowd buys from a sale of its own for a few seconds, and the pipeline is left to
 * settle those orders before the measured sale opens. Shared by the drill, the burst and the bench.
 */
import { join } from 'node:path';
import { createSale } from './api-calls.ts';
import { typedApi } from './api-client.ts';
import { countOpenOrders, waitUntilZero } from './local.ts';
import type { LocalStack } from './local-stack.ts';
import { round } from './stats.ts';

export interface WarmUp {
  checkouts: number;
  /** Last warm-up checkout → every warm-up order terminal; null when not within 180 s. */
  drainSeconds: number | null;
}

export async function warmUp(
  { runtime, db, generator, dataDir }: Pick<LocalStack, 'runtime' | 'db' | 'generator' | 'dataDir'>,
  o: { seconds: number; concurrency: number; tag: string },
): Promise<WarmUp> {
  const admin = await runtime.issuer.sign(`${o.tag}-admin`, true);
  const sale = await createSale(typedApi(runtime.url), admin, {
    saleId: `${o.tag}-warmup`,
    totalStock: 1_000_000,
    perUserLimit: 1000,
    shards: 8,
  });
  const warm = await generator.run(
    {
      url: runtime.url,
      saleId: sale.saleId,
      keyFile: join(dataDir, 'dev-issuer-key.json'),
      userPrefix: `${o.tag}-warm`,
      buyers: o.seconds * 600,
      concurrency: o.concurrency,
      maxDurationMs: o.seconds * 1000,
      requestTimeoutMs: 10_000,
    },
    o.seconds * 1000 + 120_000,
  );
  const end = Date.now();
  const drained = await waitUntilZero(
    () => countOpenOrders(db, runtime.resources.tableNames.orders, sale.saleId),
    180_000,
  );
  return {
    checkouts: warm.orderIds.length,
    drainSeconds: drained.at === undefined ? null : round((drained.at - end) / 1000, 1),
  };
}
