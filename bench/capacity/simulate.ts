/**
 * One run of the capacity model: one sale's checkout path, request by request, through API Gateway's
 * buckets, the authorizer's and the checkout's Lambda environments and DynamoDB's partitions, tables and
 * transaction conflicts (settings.ts says what each of them assumes).
 */
import { bindingLimit } from './binding-limit.ts';
import { EventQueue, LambdaPool, seededRandom, TokenBucket } from './engine.ts';
import { AWS, type Settings, type TableName } from './settings.ts';

export interface RunResult {
  /** Successful checkouts per second, answered in the measured window. */
  checkoutsPerSecond: number;
  /** Successful checkouts answered in the first simulated second (cold starts included). */
  firstSecond: number;
  /** Units taken from stock over the whole run, and when the last one went (finite stock only). */
  unitsSold: number;
  soldOutAtS: number | null;
  /** Answers in the measured window, per second, by kind. */
  perSecond: {
    accepted: number;
    apiThrottled: number;
    lambdaThrottled: number;
    retryAfterBudget: number;
    soldOut: number;
  };
  /** Refused DynamoDB calls per second in the window (each one then backs off and retries). */
  conflictsPerSecond: number;
  throttlesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Units per second each meter (API requests, table WCU/RCU, partitions) used in the window. */
  usedPerSecond: Record<string, number>;
  /** Share (0..1) of each limit used in the measured window; the largest is `limitedBy`. */
  utilization: Record<string, number>;
  limitedBy: string;
}

/** A shared item on its own partition: a stock shard, a dispenser or a byDue bucket. */
interface HotItem {
  partition: TokenBucket;
  inFlightUntil: number;
  remaining: number;
}

type Charge = [bucket: TokenBucket, units: number, meter: string];
type Outcome = 'ok' | 'conflict' | 'throttle' | 'soldOut';
/** How a checkout ends without an order: 429 RETRY past its budget, or 409 SOLD_OUT. */
type Ending = 'retryAfterBudget' | 'soldOut';

export function simulate(s: Settings): RunResult {
  const q = new EventQueue();
  const random = seededRandom(s.seed);
  const from = s.warmupS * 1000;
  const to = s.durationS * 1000;
  const inWindow = () => q.now >= from && q.now < to;
  const jitter = (ms: number) => ms * (0.75 + 0.5 * random());
  const bucket = (t: { rateLimit: number; burstLimit: number }) => new TokenBucket(t.rateLimit, t.burstLimit);
  const rated = (perSecond: number) => new TokenBucket(perSecond, perSecond * s.partitionBurstS);
  const hotItems = (count: number, units: number) =>
    Array.from(
      { length: count },
      (): HotItem => ({
        partition: rated(AWS.partitionWcuPerSecond),
        inFlightUntil: 0,
        remaining: units,
      }),
    );

  // API Gateway applies a stage's limits to each method, and a method's own replace them: a
  // checkout meets the account's bucket and its method's, never the stage default's.
  const api = [bucket(s.apiAccount), bucket(s.apiCheckout)];
  const authorizer = new LambdaPool(s.authorizerReserved, AWS.lambdaNewEnvironmentsPer10s, 0);
  const placeOrder = new LambdaPool(
    s.placeOrderReserved,
    AWS.lambdaNewEnvironmentsPer10s,
    s.placeOrderProvisioned,
  );
  const tables = Object.fromEntries(
    (Object.keys(s.tableWcu) as TableName[]).map((name) => [name, rated(s.tableWcu[name])]),
  ) as Record<TableName, TokenBucket>;
  const ordersRead = rated(s.ordersRcu);
  const byBuyerIndex = rated(s.tableWcu.orders);
  const byDueIndex = rated(s.tableWcu.orders);
  const stock = hotItems(s.k, s.unitsPerItem);
  const dueBuckets = hotItems(s.dueBuckets, 0);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T;
  // Stock items that can still cover a checkout; empty ones leave it, returned units bring them back.
  const stocked = stock.slice();
  let unitsSold = 0;
  let soldOutAt: number | undefined;
  const takeUnits = (item: HotItem) => {
    item.remaining -= s.quantity;
    unitsSold += s.quantity;
    if (item.remaining < s.quantity) stocked.splice(stocked.indexOf(item), 1);
    if (stocked.length === 0) soldOutAt ??= q.now;
  };
  const giveBack = (item: HotItem) => {
    if (item.remaining < s.quantity) stocked.push(item);
    item.remaining += s.quantity;
    unitsSold -= s.quantity;
  };
  /** A stocked item, or undefined once the sale is sold out (the checkout then answers from memory). */
  const pickStocked = (): HotItem | undefined => (stocked.length > 0 ? pick(stocked) : undefined);

  // What the window used, for the utilization figures.
  const used: Record<string, number> = {};
  const meter = (name: string, units: number) => {
    if (inWindow()) used[name] = (used[name] ?? 0) + units;
  };
  const counts = { accepted: 0, apiThrottled: 0, lambdaThrottled: 0, retryAfterBudget: 0, soldOut: 0 };
  let conflicts = 0;
  let throttles = 0;
  let firstSecond = 0;
  let stockInFlightMs = 0;
  const latencies: number[] = [];
  const concurrency = { placeOrder: 0, authorizer: 0, samples: 0 };

  /** One DynamoDB call: refused if a shared item is in flight or any bucket lacks units, else charged. */
  function write(shared: HotItem[], charges: Charge[], holdMs: number): Outcome {
    const now = q.now;
    for (const item of shared) if (item.inFlightUntil > now) return 'conflict';
    const need = new Map<TokenBucket, number>();
    for (const [b, units] of charges) need.set(b, (need.get(b) ?? 0) + units);
    for (const [b, units] of need) if (!b.has(units, now)) return 'throttle';
    for (const [b, units] of need) b.take(units);
    for (const [, units, name] of charges) meter(name, units);
    if (holdMs > 0)
      for (const item of shared) {
        item.inFlightUntil = now + holdMs;
        if (inWindow()) stockInFlightMs += Math.min(holdMs, to - now);
      }
    return 'ok';
  }

  const tx = AWS.transactionalWcuPerItem;
  const plain = AWS.plainWcuPerItem;
  const stockTable = s.tableOf.stock;
  const stockCharge = (item: HotItem, units: number): Charge[] => [
    [item.partition, units, 'stock items'],
    [tables[stockTable], units, `${stockTable} table`],
  ];
  const orderAndCounterCharges = (): Charge[] => {
    const due = pick(dueBuckets);
    return [
      [tables.orders, tx, 'orders table'],
      [byBuyerIndex, plain, 'byBuyer index'],
      [byDueIndex, plain, 'byDue index'],
      [due.partition, plain, 'byDue partitions'],
      [tables[s.tableOf.counter], tx, `${s.tableOf.counter} table`],
    ];
  };

  /** Calls `op` until it succeeds or the deadline passes, backing off (full jitter) between tries. */
  function withRetry(
    op: () => Outcome,
    latency: (o: Outcome) => number,
    deadline: number,
    done: () => void,
    gaveUp: (why: Ending) => void,
    attempt = 0,
  ): void {
    const outcome = op();
    const took = latency(outcome);
    if (outcome === 'ok') {
      q.after(took, done);
      return;
    }
    if (outcome === 'soldOut') {
      gaveUp('soldOut');
      return;
    }
    if (inWindow()) outcome === 'conflict' ? conflicts++ : throttles++;
    const wait = took + random() * Math.min(s.retry.capMs, s.retry.baseMs * 2 ** attempt);
    if (q.now + wait >= deadline) q.after(took, () => gaveUp('retryAfterBudget'));
    else q.after(wait, () => withRetry(op, latency, deadline, done, gaveUp, attempt + 1));
  }

  const txLatency = (o: Outcome) =>
    o === 'ok' ? s.windowMs + jitter(s.latencyMs.transactOverhead) : jitter(s.latencyMs.transactOverhead);
  const updateLatency = () => jitter(s.latencyMs.update);

  function answer(kind: keyof typeof counts, arrivedAt: number): void {
    if (kind === 'accepted' && q.now < 1000) firstSecond++;
    if (!inWindow()) return;
    counts[kind]++;
    if (kind === 'accepted') latencies.push(q.now - arrivedAt);
  }

  /** The checkout handler, from its first DynamoDB call to its answer. */
  function checkout(arrivedAt: number): void {
    const deadline = q.now + s.retry.budgetMs;
    const finish = (kind: 'accepted' | Ending) => {
      placeOrder.release();
      answer(kind, arrivedAt);
    };
    const enqueue = () =>
      q.after(jitter(s.latencyMs.sqsSend) + jitter(s.latencyMs.handler), () => finish('accepted'));
    const giveUp = (why: Ending) => finish(why);
    if (s.design === 'today') {
      const transaction = (): Outcome => {
        const shard = pickStocked();
        if (!shard) return 'soldOut';
        const outcome = write([shard], [...stockCharge(shard, tx), ...orderAndCounterCharges()], s.windowMs);
        if (outcome === 'ok') takeUnits(shard);
        return outcome;
      };
      withRetry(transaction, txLatency, deadline, enqueue, giveUp);
      return;
    }
    let dispenser: HotItem = stock[0] as HotItem;
    const claims = (): Charge[] => [[tables[s.tableOf.claim], tx * s.quantity, `${s.tableOf.claim} table`]];
    const claim = () => write([], [...claims(), ...orderAndCounterCharges()], s.windowMs);
    const returnNumbers = (why: Ending) => {
      // Best effort, as in the design: what fails here the reconciler returns later (counted back now).
      write([dispenser], stockCharge(dispenser, plain), 0);
      giveBack(dispenser);
      giveUp(why);
    };
    const takeNumbers = (): Outcome => {
      const item = pickStocked();
      if (!item) return 'soldOut';
      dispenser = item;
      const outcome = write([dispenser], stockCharge(dispenser, plain), 0);
      if (outcome === 'ok') takeUnits(dispenser);
      return outcome;
    };
    const readOrder = () => write([], [[ordersRead, AWS.strongReadRcu, 'orders reads']], 0);
    withRetry(
      readOrder,
      () => jitter(s.latencyMs.get),
      deadline,
      () =>
        withRetry(
          takeNumbers,
          updateLatency,
          deadline,
          () => withRetry(claim, txLatency, deadline, enqueue, returnNumbers),
          giveUp,
        ),
      giveUp,
    );
  }

  function arrive(): void {
    const arrivedAt = q.now;
    if (api.every((b) => b.has(1, arrivedAt))) {
      for (const b of api) b.take(1);
      meter('API requests', 1);
      const auth = authorizer.acquire(arrivedAt);
      if (!auth) answer('lambdaThrottled', arrivedAt);
      else {
        const authMs = jitter(s.latencyMs.authorizer) + (auth === 'cold' ? s.coldStartMs.authorizer : 0);
        q.after(authMs, () => {
          authorizer.release();
          const env = placeOrder.acquire(q.now);
          if (!env) answer('lambdaThrottled', arrivedAt);
          else q.after(env === 'cold' ? s.coldStartMs.placeOrder : 0, () => checkout(arrivedAt));
        });
      }
    } else answer('apiThrottled', arrivedAt);
    const next = q.now - Math.log(1 - random()) * (1000 / s.demandPerSecond);
    if (next < to && soldOutAt === undefined) q.at(next, arrive);
  }

  const nothing = () => {};
  function release(): void {
    const item = pick(stock);
    const deadline = q.now + s.retry.budgetMs;
    const op = () => write([item], [...stockCharge(item, tx), ...orderAndCounterCharges()], s.windowMs);
    // Releases stand for their write load and in-flight holds; the units they return are not counted.
    withRetry(op, txLatency, deadline, nothing, nothing);
    const next = q.now - Math.log(1 - random()) * (1000 / s.releasesPerSecond);
    if (next < to) q.at(next, release);
  }

  function sample(): void {
    concurrency.placeOrder += placeOrder.busy;
    concurrency.authorizer += authorizer.busy;
    concurrency.samples++;
    if (q.now + 5 < to) q.after(5, sample);
  }

  q.at(0, arrive);
  if (s.releasesPerSecond > 0) q.at(0, release);
  q.at(from, sample);
  // Requests in progress at the window's end still finish (within their budget), but are not counted.
  q.runUntil(to + s.retry.budgetMs + 5_000);

  const seconds = (to - from) / 1000;
  const share = (value: number, capacity: number) => (capacity > 0 ? value / capacity : 0);
  const utilization: Record<string, number> = {
    'API Gateway account quota': share(used['API requests'] ?? 0, s.apiAccount.rateLimit * seconds),
    'API checkout throttle': share(used['API requests'] ?? 0, s.apiCheckout.rateLimit * seconds),
    'placeOrder concurrency': share(
      concurrency.placeOrder / Math.max(1, concurrency.samples),
      placeOrder.limit,
    ),
    'authorizer concurrency': share(
      concurrency.authorizer / Math.max(1, concurrency.samples),
      authorizer.limit,
    ),
    'stock items WCU': share(used['stock items'] ?? 0, s.k * AWS.partitionWcuPerSecond * seconds),
    'stock items in flight': share(stockInFlightMs, s.k * (to - from)),
    'byDue partitions': share(
      used['byDue partitions'] ?? 0,
      s.dueBuckets * AWS.partitionWcuPerSecond * seconds,
    ),
    'orders reads': share(used['orders reads'] ?? 0, s.ordersRcu * seconds),
  };
  for (const name of new Set(Object.values(s.tableOf).concat('orders')))
    utilization[`${name} table WCU`] = share(used[`${name} table`] ?? 0, s.tableWcu[name] * seconds);
  const limitedBy = bindingLimit(
    utilization,
    counts.accepted,
    used['API requests'] ?? 0,
    conflicts,
    throttles,
  );
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? 0;
  const per = (x: number) => Math.round(x / seconds);
  return {
    checkoutsPerSecond: per(counts.accepted),
    firstSecond,
    unitsSold,
    soldOutAtS: soldOutAt === undefined ? null : Math.round(soldOutAt) / 1000,
    perSecond: {
      accepted: per(counts.accepted),
      apiThrottled: per(counts.apiThrottled),
      lambdaThrottled: per(counts.lambdaThrottled),
      retryAfterBudget: per(counts.retryAfterBudget),
      soldOut: per(counts.soldOut),
    },
    conflictsPerSecond: per(conflicts),
    throttlesPerSecond: per(throttles),
    p50Ms: Math.round(pct(0.5)),
    p99Ms: Math.round(pct(0.99)),
    usedPerSecond: Object.fromEntries(Object.entries(used).map(([k, v]) => [k, per(v)])),
    utilization: Object.fromEntries(
      Object.entries(utilization).map(([k, v]) => [k, Math.round(v * 1000) / 1000]),
    ),
    limitedBy,
  };
}
