/**
 * The capacity model end to end: every stage a drop passes, from the API's quota to the card
 * processor, each turned into a rate (or a delay) from AWS's documented limits and this stack's
 * settings; the smallest rate binds. The checkout's own DynamoDB + Lambda rate comes from the
 * discrete-event simulation (simulate.ts); the pipeline after the 202 is arithmetic (queues and
 * consumers are throughput stages, Little's law for the processor). `npm run capacity -- --json`
 * prints `{"endToEnd": [...]}`.
 */
import { DEFAULT_HOLD_SECONDS } from '../../shared/domain/sale.ts';
import {
  DEFAULT_PROCESSOR,
  PAYMENT_BATCH_SIZE,
  type ProcessorPlan,
  paymentConsumers,
} from '../../shared/pipeline-plan.ts';
import { apiThrottle, functions, PAYMENT_RETRY_SECONDS_DEFAULT } from '../../shared/wiring.ts';
import { seededRandom } from './engine.ts';
import { AWS, stackSettings, withoutApiLimits } from './settings.ts';
import { simulate } from './simulate.ts';

export type QuotaSet = 'default' | 'raised';
/** How bearer tokens are checked: API Gateway's native Cognito authorizer (no function), or a Lambda. */
export type AuthorizerKind = 'cognito' | 'lambda';

/** Account quotas per set; `raised` is what a large drop asks AWS for (all soft quotas). */
export const QUOTAS: Record<
  QuotaSet,
  { apiAccountRps: number; lambdaConcurrency: number; tableQuotaWcu: number; checkoutThrottleRps: number }
> = {
  default: {
    apiAccountRps: AWS.apiAccountRps,
    lambdaConcurrency: AWS.lambdaAccountConcurrency,
    tableQuotaWcu: AWS.tableQuotaWcu,
    checkoutThrottleRps: apiThrottle.methods.placeOrder.rateLimit,
  },
  raised: {
    apiAccountRps: 30_000,
    lambdaConcurrency: 5_000,
    tableQuotaWcu: 80_000,
    // Raised with the account quota for the drop: `-c checkoutRateLimit=20000` (docs/DEPLOY.md),
    // still leaving the stage default's 2,000 per other method inside the 30,000.
    checkoutThrottleRps: 20_000,
  },
};

/** Lambda: invocations per second per account and region = 10 × the concurrency quota (synchronous,
 * all sources: API Gateway, authorizers and SQS event sources alike). AWS Lambda developer guide,
 * "Lambda quotas", Invocation requests per Region. */
export const LAMBDA_REQUESTS_PER_CONCURRENCY = 10;

/** Times the model assumes (ms): one checkout holds its environment, one consumer batch, our calls around a charge. */
const TIMES = { checkoutMs: 38, authorizerMs: 10, orderBatchMs: 40, chargeOverheadMs: 50 };
/** The sales table's items per checkout: 1 WCU on one dispenser, 2 WCU on the buyer's counter (in the claim transaction). */
const SALES_WCU = { dispenserPerCheckout: 1, counterPerCheckout: 2 };
/** Placements of the dispenser keys tried to find how many share the busiest partition. */
const PLACEMENTS = 2_000;

export interface EndToEndScenario {
  name: string;
  quotas: QuotaSet;
  authorizer: AuthorizerKind;
  units: number;
  buyers: number;
  processorLatencyMs: number;
  processorRatePerSec: number;
  checkoutsPerSecond: number;
  chargesPerSecond: number;
  sellOutSeconds: number;
  chargedAllSeconds: number;
  expiredFromBacklog: number;
  /** For contrast: orders the old rule (hold counted from checkout) would have expired in our backlog. */
  expiredUnderOldHold: number;
  binding: string;
  /** Every stage's rate (per second) or delay, so the binding one can be checked against the rest. */
  stages: Record<string, number>;
}

export interface ScenarioInput {
  name: string;
  quotas: QuotaSet;
  authorizer: AuthorizerKind;
  units: number;
  buyers: number;
  processor: ProcessorPlan;
}

/** The scenarios the issue asks for, each with both authorizers. */
export const END_TO_END_SCENARIOS: ScenarioInput[] = (['default', 'raised'] as const).flatMap((quotas) =>
  [100, 1_000].flatMap((ratePerSecond) =>
    (['cognito', 'lambda'] as const).map((authorizer) => ({
      name: `100,000-unit drop, 1,000,000 buyers, processor 500 ms / ${ratePerSecond.toLocaleString('en-US')} charges/s, ${quotas} quotas, ${authorizer === 'cognito' ? 'native Cognito authorizer' : 'Lambda authorizer'}`,
      quotas,
      authorizer,
      units: 100_000,
      buyers: 1_000_000,
      processor: { latencyMs: 500, ratePerSecond },
    })),
  ),
);

/**
 * How many of `keys` items share the busiest of `partitions` partitions: DynamoDB places a key by the
 * hash of its partition key, so K dispensers land on fewer partitions than keys (balls into bins). The
 * median over seeded placements.
 */
export function busiestPartitionKeys(keys: number, partitions: number, seed = 7): number {
  const random = seededRandom(seed);
  const maxima: number[] = [];
  for (let t = 0; t < PLACEMENTS; t++) {
    const bins = new Array<number>(partitions).fill(0);
    for (let k = 0; k < keys; k++) {
      const bin = Math.floor(random() * partitions);
      bins[bin] = (bins[bin] ?? 0) + 1;
    }
    maxima.push(Math.max(...bins));
  }
  maxima.sort((a, b) => a - b);
  return maxima[Math.floor(maxima.length / 2)] as number;
}

const backendCache = new Map<number, number>();
/** What DynamoDB and Lambda alone take (the simulation, API limits lifted), on tables warmed to the quota. */
function checkoutBackend(tableQuotaWcu: number): number {
  let rate = backendCache.get(tableQuotaWcu);
  if (rate === undefined) {
    const base = stackSettings('dispensers', 64, 10);
    rate = simulate(
      withoutApiLimits({
        ...base,
        tableWcu: { sales: tableQuotaWcu, orders: tableQuotaWcu, claims: tableQuotaWcu },
        ordersRcu: Math.max(base.ordersRcu, tableQuotaWcu),
      }),
    ).checkoutsPerSecond;
    backendCache.set(tableQuotaWcu, rate);
  }
  return rate;
}

const smallest = (stages: Record<string, number>) =>
  Object.entries(stages).reduce((a, b) => (b[1] < a[1] ? b : a));

/** One scenario through every stage. */
export function endToEnd(input: ScenarioInput): EndToEndScenario {
  const q = QUOTAS[input.quotas];
  const { processor } = input;
  const K = 64;
  // Tables warmed to their quota: at least one partition per 1,000 WCU.
  const partitions = Math.ceil(q.tableQuotaWcu / AWS.partitionWcuPerSecond);
  const busiest = busiestPartitionKeys(K, partitions);
  // Payment consumers sized for this processor (pipeline-plan.ts; `-c processorRatePerSecond`), each
  // holding `batch` charges in flight; the account's unreserved executions bound them.
  const reserved = functions.placeOrder.reservedConcurrency + functions.authorizer.reservedConcurrency;
  const unreserved = q.lambdaConcurrency - reserved;
  const orderConsumers = Math.min(functions.processOrder.consumes.maxConcurrency, unreserved);
  const payConsumers = Math.min(paymentConsumers(processor), Math.max(0, unreserved - orderConsumers));
  const chargeSeconds = (processor.latencyMs + TIMES.chargeOverheadMs) / 1000;
  const chargeInvocations = processor.ratePerSecond / PAYMENT_BATCH_SIZE;
  const invocationsPerCheckout =
    1 + (input.authorizer === 'lambda' ? 1 : 0) + 1 / functions.processOrder.consumes.batchSize;

  const checkoutStages: Record<string, number> = {
    'API Gateway account quota': q.apiAccountRps,
    // Stage limits apply per method: the checkout method's own throttle is what it gets.
    'API checkout method throttle': q.checkoutThrottleRps,
    'Lambda requests per account (10 × concurrency quota)': Math.floor(
      (LAMBDA_REQUESTS_PER_CONCURRENCY * q.lambdaConcurrency - chargeInvocations) / invocationsPerCheckout,
    ),
    'placeOrder reserved concurrency': Math.floor(
      functions.placeOrder.reservedConcurrency / (TIMES.checkoutMs / 1000),
    ),
    ...(input.authorizer === 'lambda'
      ? {
          // Pessimistic: every checkout brings a token the authorizer's 300 s cache has not seen.
          'authorizer reserved concurrency': Math.floor(
            functions.authorizer.reservedConcurrency / (TIMES.authorizerMs / 1000),
          ),
        }
      : {}),
    'checkout backend (DynamoDB + Lambda, simulated)': checkoutBackend(q.tableQuotaWcu),
    // The busiest partition holds `busiest` of the K dispensers and its share of the buyer counters.
    'sales table partitions (dispenser keys collide)': Math.floor(
      AWS.partitionWcuPerSecond /
        ((busiest * SALES_WCU.dispenserPerCheckout) / K + SALES_WCU.counterPerCheckout / partitions),
    ),
    'orders queue sends (SQS FIFO high throughput)': AWS.sqsFifoSendsPerSecond,
  };
  const [binding, checkoutsPerSecond] = smallest(checkoutStages);
  const ordersPerSecond = Math.floor(
    (orderConsumers * functions.processOrder.consumes.batchSize) / (TIMES.orderBatchMs / 1000),
  );
  const chargeStages: Record<string, number> = {
    'processor rate limit': processor.ratePerSecond,
    'payment consumers (charges in flight ÷ charge time)': Math.floor(
      (payConsumers * PAYMENT_BATCH_SIZE) / chargeSeconds,
    ),
  };
  const [chargeBinding, chargesPerSecond] = smallest(chargeStages);

  const sellOutSeconds = input.units / checkoutsPerSecond;
  const ordersDoneSeconds = Math.max(sellOutSeconds, input.units / ordersPerSecond);
  const chargedAllSeconds = Math.max(ordersDoneSeconds, input.units / chargesPerSecond) + chargeSeconds;
  // The payment clock starts with the first charge sent, and a charge answers in ~1 latency: none of
  // the backlog's orders runs out of its PAYMENT_RETRY_SECONDS for waiting.
  const expiredFromBacklog = chargeSeconds * 3 < PAYMENT_RETRY_SECONDS_DEFAULT ? 0 : input.units;
  // The old rule: the i-th order waited i/charges − i/checkouts seconds from its checkout to its charge.
  const lagPerOrder = 1 / chargesPerSecond - 1 / checkoutsPerSecond;
  const expiredUnderOldHold =
    lagPerOrder > 0 ? Math.max(0, input.units - Math.floor(DEFAULT_HOLD_SECONDS / lagPerOrder)) : 0;
  return {
    name: input.name,
    quotas: input.quotas,
    authorizer: input.authorizer,
    units: input.units,
    buyers: input.buyers,
    processorLatencyMs: processor.latencyMs,
    processorRatePerSec: processor.ratePerSecond,
    checkoutsPerSecond,
    chargesPerSecond,
    sellOutSeconds: round1(sellOutSeconds),
    chargedAllSeconds: round1(chargedAllSeconds),
    expiredFromBacklog,
    expiredUnderOldHold,
    binding: `checkout: ${binding}; charges: ${chargeBinding}`,
    stages: {
      ...checkoutStages,
      'orders consumer (processOrder)': ordersPerSecond,
      ...chargeStages,
      'payment consumer instances': payConsumers,
      'sales table partitions': partitions,
      'dispenser keys on the busiest partition': busiest,
    },
  };
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/** Every scenario; the default processor's one first. */
export function endToEndModel(): EndToEndScenario[] {
  return END_TO_END_SCENARIOS.map(endToEnd);
}

/** The targets of issue 16: raised → ≥ 10,000 checkouts/s and charges at the processor's limit; none expired. */
export function endToEndTargets(rows: EndToEndScenario[]): { met: boolean; misses: string[] } {
  const misses: string[] = [];
  for (const r of rows) {
    if (r.expiredFromBacklog !== 0)
      misses.push(`${r.name}: ${r.expiredFromBacklog} expired from the backlog`);
    if (r.quotas === 'raised' && r.checkoutsPerSecond < 10_000)
      misses.push(`${r.name}: ${r.checkoutsPerSecond} checkouts/s`);
    if (r.quotas === 'raised' && r.chargesPerSecond !== r.processorRatePerSec)
      misses.push(`${r.name}: ${r.chargesPerSecond} charges/s of ${r.processorRatePerSec}`);
  }
  return { met: misses.length === 0, misses };
}

export function formatEndToEnd(rows: EndToEndScenario[]): string {
  const num = (v: number) => v.toLocaleString('en-US');
  const lines = ['  End to end (a drop through every stage; README "money" for the expiry rule):'];
  for (const r of rows)
    lines.push(
      `   - ${r.name}: ${num(r.checkoutsPerSecond)} checkouts/s, sold out in ${r.sellOutSeconds} s; ${num(r.chargesPerSecond)} charges/s, all charged by ${r.chargedAllSeconds} s; expired from the backlog ${r.expiredFromBacklog} (old rule: ${num(r.expiredUnderOldHold)}); binds: ${r.binding}`,
    );
  const { met, misses } = endToEndTargets(rows);
  lines.push(
    `  End-to-end targets (raised quotas ≥ 10,000 checkouts/s and charges at the processor's limit; 0 expired everywhere): ${met ? 'met' : `NOT met: ${misses.join('; ')}`}`,
    `  Default processor the stack is sized for: ${DEFAULT_PROCESSOR.latencyMs} ms, ${DEFAULT_PROCESSOR.ratePerSecond}/s → ${paymentConsumers(DEFAULT_PROCESSOR)} payment consumers of ${PAYMENT_BATCH_SIZE} concurrent records.`,
  );
  return lines.join('\n');
}
