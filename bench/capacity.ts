/**
 * What one sale could take on AWS, from DynamoDB's documented limits and what a checkout writes.
 * Arithmetic, not a measurement: the assumptions are printed with the numbers.
 */
import { DUE_BUCKETS } from '../shared/domain/order.ts';

export const LIMITS = {
  /** Write units per second one item (one partition) takes. */
  itemWcuPerSecond: 1000,
  /** A transactional write costs 2 WCU per item up to 1 KB. */
  transactionalWcuPerItem: 2,
  /** A plain write costs 1 WCU per item (and per index entry) up to 1 KB. */
  plainWcuPerItem: 1,
  /** A new on-demand table serves up to this many write units per second before it scales. */
  newOnDemandTableWcu: 4000,
  /** Default account quota per table (on-demand), raise by request. */
  tableQuotaWcu: 40_000,
  /** API Gateway default steady-state rate per account and region (all routes, all callers). */
  apiGatewayRps: 10_000,
};

export interface CapacityRow {
  shards: number;
  /** Shard items only: each checkout writes one shard transactionally. */
  shardCeiling: number;
  /** The sales table (shard + buyer counter, both transactional) of a brand-new on-demand table. */
  newTableCeiling: number;
  /** The sales table at the default 40,000 WCU table quota. */
  tableQuotaCeiling: number;
  /** The orders table's byDue index: DUE_BUCKETS hot keys, ~4 writes per order over its life. */
  byDueCeiling: number;
  /** Lowest of shard, byDue, table quota and API Gateway: what a warmed, quota-default stack could take. */
  warmCeiling: number;
  /** The same for a stack deployed minutes before the sale (new on-demand tables). */
  coldCeiling: number;
  limitedBy: string;
}

/** This stack's own API Gateway throttle on the checkout route, when infra/settings.ts defines one. */
export interface ApiThrottle {
  checkoutRps: number;
  stageRps: number;
  source: string;
}

export function capacityTable(shardCounts: number[], throttle?: ApiThrottle) {
  const apiCeiling = Math.min(LIMITS.apiGatewayRps, throttle?.checkoutRps ?? Number.POSITIVE_INFINITY);
  const perShard = LIMITS.itemWcuPerSecond / LIMITS.transactionalWcuPerItem;
  // Sales table writes per checkout: the shard and the buyer's counter, both in the transaction.
  const salesWcu = 2 * LIMITS.transactionalWcuPerItem;
  // byDue index writes over an order's life: entry on checkout, moved on PAYMENT_PENDING (delete +
  // put), removed when terminal: 4 plain index writes spread over DUE_BUCKETS partition keys.
  const byDueWritesPerOrder = 4;
  const byDueCeiling = Math.floor(
    (DUE_BUCKETS * LIMITS.itemWcuPerSecond) / (byDueWritesPerOrder * LIMITS.plainWcuPerItem),
  );
  const rows: CapacityRow[] = shardCounts.map((shards) => {
    const shardCeiling = shards * perShard;
    const newTableCeiling = Math.floor(LIMITS.newOnDemandTableWcu / salesWcu);
    const tableQuotaCeiling = Math.floor(LIMITS.tableQuotaWcu / salesWcu);
    const warm = Math.min(shardCeiling, byDueCeiling, tableQuotaCeiling, apiCeiling);
    const limitedBy =
      warm === shardCeiling
        ? 'stock shards'
        : warm === byDueCeiling
          ? `byDue index (${DUE_BUCKETS} keys)`
          : warm === tableQuotaCeiling
            ? 'table quota'
            : throttle && apiCeiling === throttle.checkoutRps
              ? 'API throttle (this stack)'
              : 'API Gateway quota';
    return {
      shards,
      shardCeiling,
      newTableCeiling,
      tableQuotaCeiling,
      byDueCeiling,
      warmCeiling: warm,
      coldCeiling: Math.min(shardCeiling, byDueCeiling, newTableCeiling, apiCeiling),
      limitedBy,
    };
  });
  return {
    unit: 'successful checkouts per second, sustained',
    perShardCheckoutsPerSecond: perShard,
    assumptions: [
      `An item (so a stock shard) takes ${LIMITS.itemWcuPerSecond} WCU/s; a transactional write costs ${LIMITS.transactionalWcuPerItem} WCU per item ≤ 1 KB, so one shard takes ${perShard} checkouts/s.`,
      'A checkout is one TransactWriteItems of 3 items: the order (orders table), the buyer counter and one stock shard (sales table) = 6 WCU, plus 2 index writes (byBuyer, byDue) of 1 WCU each.',
      'Checkouts pick a shard at random among those with stock, so load spreads evenly while every shard has units; near sell-out fewer shards remain and the ceiling falls with them.',
      'Order and counter items are per order and per buyer: no hot key unless one buyer hammers one sale.',
      `A brand-new on-demand table serves up to ${LIMITS.newOnDemandTableWcu} WCU/s until it has scaled (or its warm throughput is raised): the sales table takes 4 WCU per checkout, so a stack deployed just before the drop caps near ${Math.floor(LIMITS.newOnDemandTableWcu / salesWcu)}/s.`,
      `Default table quota ${LIMITS.tableQuotaWcu} WCU/s; API Gateway default ${LIMITS.apiGatewayRps} requests/s per account and region, shared with polls and refusals.`,
      throttle
        ? `This stack throttles POST /sales/{id}/orders at ${throttle.checkoutRps} requests/s and the stage at ${throttle.stageRps} (${throttle.source}); refused checkouts count against it too, so successful checkouts stay below it.`
        : 'No stack-specific API throttle was found (infra/settings.ts apiThrottle).',
      `Retries on TransactionConflict (two buyers on one shard in the same instant) lower the per-shard figure in practice; treat it as an upper bound.`,
      `The orders table's sparse byDue index has ${DUE_BUCKETS} partition-key values (DUE_BUCKETS in shared/domain/order.ts); an order writes it about ${byDueWritesPerOrder} times over its life (entry at checkout, moved on PAYMENT_PENDING = delete + put, removed when terminal) and a throttled index throttles the table's writes. Its sort key (dueAt) grows with time, so splitting a key for heat does not spread new writes: the stack tops out near ${DUE_BUCKETS} × 1000 / ${byDueWritesPerOrder} = ${byDueCeiling} orders/s however many shards a sale has.`,
    ],
    byDueIndexCeiling: byDueCeiling,
    rows,
  };
}

export function formatCapacity(c: ReturnType<typeof capacityTable>): string {
  const col = (v: string | number, w: number) => String(v).padStart(w);
  const lines = [
    `  ${col('shards', 6)} ${col('shards cap', 10)} ${col('byDue cap', 9)} ${col('new tables', 10)} ${col('warm stack', 10)}  limited by (warm)`,
    ...c.rows.map(
      (r) =>
        `  ${col(r.shards, 6)} ${col(r.shardCeiling, 10)} ${col(r.byDueCeiling, 9)} ${col(r.coldCeiling, 10)} ${col(r.warmCeiling, 10)}  ${r.limitedBy}`,
    ),
    '  (successful checkouts/s; "new tables" = a stack deployed just before the sale, on-demand tables not yet scaled)',
    '  Assumptions:',
    ...c.assumptions.map((a) => `   - ${a}`),
  ];
  return lines.join('\n');
}
