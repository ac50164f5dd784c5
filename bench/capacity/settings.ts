/**
 * Everything the capacity model assumes, in one place: AWS's documented limits, this stack's settings
 * (read from the wiring table), and the latencies and behaviours the model has to guess. Every value is
 * printed with the results (`describeSettings`), so a table never travels without its assumptions.
 */
import { DUE_BUCKETS } from '../../shared/domain/order.ts';
import { apiThrottle, functions, type ThrottleSpec } from '../../shared/wiring.ts';

export type Design = 'today' | 'dispensers';
export type TableName = 'sales' | 'orders' | 'claims';

/** Documented AWS limits (DESIGN.md "Verified facts", the DynamoDB/Lambda/API Gateway quota pages). */
export const AWS = {
  /** Write units per second one partition takes; each hot item here sits on its own partition. */
  partitionWcuPerSecond: 1000,
  /** A transactional write costs 2 WCU per item ≤ 1 KB; a plain write 1 WCU; an index entry 1 WCU. */
  transactionalWcuPerItem: 2,
  plainWcuPerItem: 1,
  /** A strongly consistent read of ≤ 4 KB costs 1 RCU. */
  strongReadRcu: 1,
  /** Default per-table on-demand quota (write and read request units/s), raised by request. */
  tableQuotaWcu: 40_000,
  tableQuotaRcu: 40_000,
  /** A new on-demand table serves this until it scales or its warm throughput is raised. */
  newTableWcu: 4_000,
  newTableRcu: 12_000,
  /** API Gateway: requests/s per account and region (all APIs, all routes), and its burst. */
  apiAccountRps: 10_000,
  apiAccountBurst: 5_000,
  /** Lambda: new execution environments per function per 10 s. */
  lambdaNewEnvironmentsPer10s: 1_000,
  /** Lambda concurrent executions per account and region (default quota), 100 of which stay unreserved. */
  lambdaAccountConcurrency: 1_000,
  lambdaUnreserved: 100,
  /** SQS FIFO high-throughput SendMessage per queue in the largest regions (others are lower: check yours). */
  sqsFifoSendsPerSecond: 70_000,
};

export interface Settings {
  design: Design;
  /** Stock shards (today) or dispensers (new design) of the one sale. */
  k: number;
  /** Prepare→commit window of a transaction: its items are "in flight" this long. */
  windowMs: number;
  /** Units per checkout (each is a claim item in the new design). */
  quantity: number;
  /** Units each stock item starts with; Infinity for the sustained figures (stock never runs out). */
  unitsPerItem: number;
  seed: number;
  /** Open-loop arrivals per second (first tries and buyers' retries together), far above capacity. */
  demandPerSecond: number;
  /** Simulated seconds; figures are read over [warmupS, durationS). */
  durationS: number;
  warmupS: number;
  /** API Gateway: account quota, and this stack's stage and checkout-method throttles. */
  apiAccount: ThrottleSpec;
  apiStage: ThrottleSpec;
  apiCheckout: ThrottleSpec;
  /** Lambda reserved concurrency; provisioned = environments already warm at t = 0. */
  placeOrderReserved: number;
  authorizerReserved: number;
  placeOrderProvisioned: number;
  coldStartMs: { placeOrder: number; authorizer: number };
  /** Write/read units per second each table serves: min(quota, warm throughput or a new table's). */
  tableWcu: Record<TableName, number>;
  ordersRcu: number;
  /** Which table holds the stock items, buyer counters and unit claims (orders are always `orders`). */
  tableOf: { stock: TableName; counter: TableName; claim: TableName };
  /** Partition-key values of the orders table's byDue index (each a 1,000 WCU/s partition). */
  dueBuckets: number;
  /** A partition's token bucket holds this many seconds of its rate (short bursts only). */
  partitionBurstS: number;
  /** Median service times (ms); each call draws uniformly within ±25 % of it. */
  latencyMs: {
    get: number;
    update: number;
    transactOverhead: number;
    sqsSend: number;
    handler: number;
    authorizer: number;
  };
  /** Retry on conflict or throttle: full-jitter exponential backoff, within the checkout's time budget. */
  retry: { baseMs: number; capMs: number; budgetMs: number };
  /** Releases (decline, expiry, cancel) per second: transactions over one stock item + order + counter. */
  releasesPerSecond: number;
}

const checkoutSpec = functions.placeOrder;
const authorizerSpec = functions.authorizer;

/** The stack as configured (wiring table) on warmed tables, for one design, K and window. */
export function stackSettings(design: Design, k: number, windowMs: number): Settings {
  return {
    design,
    k,
    windowMs,
    quantity: 1,
    unitsPerItem: Number.POSITIVE_INFINITY,
    seed: 12,
    demandPerSecond: 30_000,
    durationS: 3,
    warmupS: 1,
    apiAccount: { rateLimit: AWS.apiAccountRps, burstLimit: AWS.apiAccountBurst },
    apiStage: apiThrottle.stage,
    apiCheckout: apiThrottle.methods.placeOrder,
    placeOrderReserved: checkoutSpec.reservedConcurrency,
    authorizerReserved: authorizerSpec.reservedConcurrency,
    placeOrderProvisioned: 0,
    coldStartMs: { placeOrder: 600, authorizer: 300 },
    tableWcu: { sales: AWS.tableQuotaWcu, orders: AWS.tableQuotaWcu, claims: AWS.tableQuotaWcu },
    ordersRcu: AWS.tableQuotaRcu,
    // The split the new design uses: one table per kind of hot write, so no one table's quota binds first.
    tableOf: { stock: 'sales', counter: 'sales', claim: 'claims' },
    dueBuckets: DUE_BUCKETS,
    partitionBurstS: 0.05,
    latencyMs: { get: 4, update: 5, transactOverhead: 8, sqsSend: 8, handler: 3, authorizer: 10 },
    retry: { baseMs: 10, capMs: 200, budgetMs: 3_000 },
    releasesPerSecond: 500,
  };
}

/** The same stack with every API Gateway limit lifted: what DynamoDB and Lambda alone would take. */
export function withoutApiLimits(s: Settings): Settings {
  const open = { rateLimit: Number.POSITIVE_INFINITY, burstLimit: Number.POSITIVE_INFINITY };
  return { ...s, apiAccount: open, apiStage: open, apiCheckout: open };
}

const n = (v: number) => (Number.isFinite(v) ? v.toLocaleString('en-US') : 'unlimited');

/** The assumptions, one sentence each, with the values a run used. */
export function describeSettings(s: Settings): string[] {
  const l = s.latencyMs;
  return [
    `Discrete-event simulation of one sale's checkout path (seeded PRNG: the same settings give the same table). ${stockSentence(s)} Figures are successful checkouts per second answered in [${s.warmupS} s, ${s.durationS} s), after the first second's cold starts.`,
    `Demand: open-loop Poisson arrivals at ${n(s.demandPerSecond)}/s (first tries and buyers' retries together), far above capacity; each checkout takes ${s.quantity} unit(s). Every arrival carries a new token (the authorizer's cache never helps: pessimistic).`,
    `API Gateway: token buckets for the account (${n(s.apiAccount.rateLimit)} rps, burst ${n(s.apiAccount.burstLimit)}; the documented default, shared with every route and refusal), the stage default (${n(s.apiStage.rateLimit)}/${n(s.apiStage.burstLimit)}, applied to each other method, not to the checkout) and the checkout method (${n(s.apiCheckout.rateLimit)}/${n(s.apiCheckout.burstLimit)}) from shared/wiring.ts apiThrottle. A refused request is a 429 RETRY and costs nothing else. Throttles apply before the authorizer.`,
    `Lambda: reserved concurrency placeOrder ${n(s.placeOrderReserved)}, authorizer ${n(s.authorizerReserved)} (wiring table); at most ${AWS.lambdaNewEnvironmentsPer10s} new environments per function per 10 s; a new environment's cold start takes ${s.coldStartMs.placeOrder} ms (placeOrder) / ${s.coldStartMs.authorizer} ms (authorizer); ${s.placeOrderProvisioned} provisioned. No free environment = throttle = 429 RETRY through the gateway responses.`,
    `DynamoDB items: every shared item (stock shard or dispenser, byDue bucket) is its own partition of ${AWS.partitionWcuPerSecond} WCU/s (token bucket holding ${s.partitionBurstS} s). A transactional write costs ${AWS.transactionalWcuPerItem} WCU per item, a plain update ${AWS.plainWcuPerItem}, an index entry ${AWS.plainWcuPerItem}. Refused requests consume nothing (optimistic for the transactional design).`,
    `Conflicts: a transaction holds each of its items in flight for the window (${s.windowMs} ms, prepare→commit); another transaction or a plain write on an item in flight is refused (TransactionConflict). Plain conditional updates never conflict with each other; they only queue for the partition's write units.`,
    `Tables (WCU/s): sales ${n(s.tableWcu.sales)}, orders ${n(s.tableWcu.orders)}, claims ${n(s.tableWcu.claims)}; orders reads ${n(s.ordersRcu)} RCU/s (quota ${n(AWS.tableQuotaWcu)}; a new on-demand table serves ${n(AWS.newTableWcu)} WCU / ${n(AWS.newTableRcu)} RCU until warm; warm throughput raises that). Stock items in '${s.tableOf.stock}', buyer counters in '${s.tableOf.counter}', unit claims in '${s.tableOf.claim}'. The orders table's GSIs: byBuyer (spread by buyer) and byDue (${s.dueBuckets} keys, each a partition); index writes throttle the base table.`,
    describeDesign(s),
    `Releases: ${n(s.releasesPerSecond)}/s transactions of one stock item (random) + order + counter, retried on conflict like checkouts; they hold their stock item in flight like any transaction.`,
    `Latencies (median, ±25 % uniform): GetItem ${l.get} ms, UpdateItem ${l.update} ms, TransactWriteItems window + ${l.transactOverhead} ms, SendMessage ${l.sqsSend} ms (SQS FIFO high-throughput ${n(AWS.sqsFifoSendsPerSecond)}/s per queue in the largest regions, not binding here), handler ${l.handler} ms, authorizer ${l.authorizer} ms.`,
    `Retries on conflict or throttle: full-jitter exponential backoff from ${s.retry.baseMs} ms, capped at ${s.retry.capMs} ms, within the checkout's ${s.retry.budgetMs} ms budget; past it the buyer gets 429 RETRY.`,
    `Not modelled: network between client and API, payload sizes > 1 KB, DynamoDB adaptive capacity splitting a hot item (it cannot split one item), the pipeline's later writes (consumers run at their own, far lower, concurrency). Lambda account concurrency defaults to ${n(AWS.lambdaAccountConcurrency)} with ${AWS.lambdaUnreserved} kept unreserved: reservations must fit in it.`,
  ];
}

/** What one checkout does in the given design. */
export function describeDesign(s: Settings): string {
  return s.design === 'today'
    ? "Today's checkout: one TransactWriteItems of a stock shard (random among K) + the order + the buyer counter (6 WCU), then SendMessage."
    : `New checkout: a strongly consistent GetItem of the order (1 RCU), ONE conditional UpdateItem on a dispenser (random among K, 1 WCU), ONE TransactWriteItems of ${s.quantity} unit claim(s) + the order + the buyer counter (${2 * (s.quantity + 2)} WCU, items no other buyer shares), then SendMessage; numbers taken but not claimed are returned with one more plain update.`;
}

function stockSentence(s: Settings): string {
  return Number.isFinite(s.unitsPerItem)
    ? `Each stock item starts with ${n(s.unitsPerItem)} units; a checkout picks among the items that still have stock (it knows which: optimistic), and arrivals stop once all are empty.`
    : 'Stock never runs out in the simulated window.';
}
