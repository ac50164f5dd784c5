/**
 * The capacity model's sweep: checkouts/s for one sale against K and the transaction window, for today's
 * design and the dispenser design, end to end (under every documented limit) and with API Gateway's
 * limits lifted (what DynamoDB and Lambda alone take), plus a few what-if scenarios around the
 * recommended stack. The result is the `capacity` section of bench/results.json.
 */
import { apiThrottle, functions } from '../../shared/wiring.ts';
import {
  AWS,
  type Design,
  describeDesign,
  describeSettings,
  type Settings,
  stackSettings,
  withoutApiLimits,
} from './settings.ts';
import { type RunResult, simulate } from './simulate.ts';

export const SWEEP = { ks: [1, 4, 16, 32, 64, 128], windowsMs: [2, 5, 10, 20] };
/** The dispenser count this model recommends for a large sale (core's MAX_DISPENSERS is 64 too). */
export const RECOMMENDED_K = 64;
/** The window the scenarios use: between DynamoDB's typical and slow transaction round trips. */
const SCENARIO_WINDOW_MS = 10;
export const TARGET_PER_SECOND = 10_000;
/** The finite drop the sell-out runs sell (K = 64 × 1,600 units). */
const SELL_OUT_UNITS = 102_400;

export interface CapacityRow {
  design: Design;
  k: number;
  windowMs: number;
  /** Under every documented limit, this stack's throttles and concurrency included. */
  checkoutsPerSecond: number;
  limitedBy: string;
  p99Ms: number;
  firstSecond: number;
  /** API Gateway's limits lifted: what DynamoDB and Lambda alone take. */
  backendPerSecond: number;
  backendLimitedBy: string;
}

export interface Scenario {
  name: string;
  endToEnd: RunResult;
  backend: RunResult;
}

const row = (design: Design, k: number, windowMs: number, tweak: (s: Settings) => Settings): CapacityRow => {
  const settings = tweak(stackSettings(design, k, windowMs));
  const e2e = simulate(settings);
  const backend = simulate(withoutApiLimits(settings));
  return {
    design,
    k,
    windowMs,
    checkoutsPerSecond: e2e.checkoutsPerSecond,
    limitedBy: e2e.limitedBy,
    p99Ms: e2e.p99Ms,
    firstSecond: e2e.firstSecond,
    backendPerSecond: backend.checkoutsPerSecond,
    backendLimitedBy: backend.limitedBy,
  };
};

/** What-ifs around the recommended stack (dispensers, K = 64, 10 ms window). */
function scenarios(tweak: (s: Settings) => Settings): Scenario[] {
  const base = () => tweak(stackSettings('dispensers', RECOMMENDED_K, SCENARIO_WINDOW_MS));
  const cases: [string, (s: Settings) => Settings][] = [
    ['recommended stack (warm tables, split over sales/claims/orders)', (s) => s],
    [
      `tables not pre-warmed (a new on-demand table: ${AWS.newTableWcu} WCU/s, ${AWS.newTableRcu} RCU/s)`,
      (s) => ({
        ...s,
        tableWcu: { sales: AWS.newTableWcu, orders: AWS.newTableWcu, claims: AWS.newTableWcu },
        ordersRcu: AWS.newTableRcu,
      }),
    ],
    [
      'one table for dispensers, counters, claims and orders (no split)',
      (s) => ({ ...s, tableOf: { stock: 'orders', counter: 'orders', claim: 'orders' } }),
    ],
    ['2 units per checkout', (s) => ({ ...s, quantity: 2 })],
    [
      'reserved concurrency as before (placeOrder 400, authorizer 100)',
      (s) => ({ ...s, placeOrderReserved: 400, authorizerReserved: 100 }),
    ],
    [
      'releases at 2,000/s (heavy declines or a wave of expiries)',
      (s) => ({ ...s, releasesPerSecond: 2_000 }),
    ],
    ['200 provisioned placeOrder environments (first second)', (s) => ({ ...s, placeOrderProvisioned: 200 })],
  ];
  return cases.map(([name, change]) => {
    const settings = change(base());
    return { name, endToEnd: simulate(settings), backend: simulate(withoutApiLimits(settings)) };
  });
}

/** Runs the whole sweep. `tweak` adjusts every run's settings (tests shorten the simulated time). */
export function capacityModel(tweak: (s: Settings) => Settings = (s) => s) {
  const rows: CapacityRow[] = [];
  for (const design of ['today', 'dispensers'] as const)
    for (const k of SWEEP.ks) for (const w of SWEEP.windowsMs) rows.push(row(design, k, w, tweak));
  const at = (design: Design, k: number) => rows.filter((r) => r.design === design && r.k === k);
  const newAtK = at('dispensers', RECOMMENDED_K);
  const todayAtK = at('today', RECOMMENDED_K);
  const worst = (rs: CapacityRow[], key: 'checkoutsPerSecond' | 'backendPerSecond') =>
    Math.min(...rs.map((r) => r[key]));
  const headline = {
    k: RECOMMENDED_K,
    windowsMs: SWEEP.windowsMs,
    dispensersWorstWindow: worst(newAtK, 'checkoutsPerSecond'),
    dispensersBestWindow: Math.max(...newAtK.map((r) => r.checkoutsPerSecond)),
    dispensersLimitedBy: [...new Set(newAtK.map((r) => r.limitedBy))].join('; '),
    dispensersBackendWorstWindow: worst(newAtK, 'backendPerSecond'),
    todayWorstWindow: worst(todayAtK, 'checkoutsPerSecond'),
    todayBestWindow: Math.max(...todayAtK.map((r) => r.checkoutsPerSecond)),
  };
  // The account's API quota is the ceiling of every API in the account: the target is met when the
  // quota, not DynamoDB or Lambda, is what binds end to end, and the backend alone takes ≥ 10,000/s.
  const met = newAtK.every(
    (r) => r.limitedBy === 'API Gateway account quota' && r.backendPerSecond >= TARGET_PER_SECOND,
  );
  const whatIfs = scenarios(tweak);
  const sellOut = (['today', 'dispensers'] as const).map((design) => {
    // A finite drop: 1,600 units per stock item, no releases, until the last unit goes.
    const run = simulate(
      tweak({
        ...stackSettings(design, RECOMMENDED_K, SCENARIO_WINDOW_MS),
        unitsPerItem: SELL_OUT_UNITS / RECOMMENDED_K,
        releasesPerSecond: 0,
        durationS: 60,
      }),
    );
    return {
      design,
      units: SELL_OUT_UNITS,
      unitsSold: run.unitsSold,
      soldOutAtS: run.soldOutAtS,
      averagePerSecond: run.soldOutAtS ? Math.round(run.unitsSold / run.soldOutAtS) : null,
    };
  });
  const recommended = recommend(whatIfs[0] as Scenario);
  // The recommended warm throughput, checked by running the stack on exactly those table capacities.
  const warmed = tweak({
    ...stackSettings('dispensers', RECOMMENDED_K, SCENARIO_WINDOW_MS),
    tableWcu: recommended.warmThroughputWriteUnitsPerSecond,
    ordersRcu: recommended.warmThroughputReadUnitsPerSecond.orders,
  });
  whatIfs.push({
    name: 'tables warmed to the recommended throughput only',
    endToEnd: simulate(warmed),
    backend: simulate(withoutApiLimits(warmed)),
  });
  return {
    unit: 'successful checkouts per second for one sale, sustained (discrete-event simulation)',
    sweep: SWEEP,
    seed: tweak(stackSettings('dispensers', RECOMMENDED_K, SCENARIO_WINDOW_MS)).seed,
    headline,
    target: `dispensers at K = ${RECOMMENDED_K}, every window: DynamoDB and Lambda take ≥ ${TARGET_PER_SECOND.toLocaleString('en-US')} checkouts/s and end to end only the account's API quota (${AWS.apiAccountRps.toLocaleString('en-US')} rps) binds`,
    met,
    assumptions: describeSettings(tweak(stackSettings('dispensers', RECOMMENDED_K, SCENARIO_WINDOW_MS))),
    todayDesign: describeDesign(stackSettings('today', RECOMMENDED_K, SCENARIO_WINDOW_MS)),
    rows,
    recommended,
    sellOut,
    scenarios: whatIfs.map((s) => ({
      name: s.name,
      checkoutsPerSecond: s.endToEnd.checkoutsPerSecond,
      limitedBy: s.endToEnd.limitedBy,
      firstSecond: s.endToEnd.firstSecond,
      backendPerSecond: s.backend.checkoutsPerSecond,
      backendLimitedBy: s.backend.limitedBy,
      p99Ms: s.endToEnd.p99Ms,
    })),
  };
}

export type CapacityModel = ReturnType<typeof capacityModel>;

/**
 * The stack's defaults, read off the recommended run: warm throughput is what each table used at the
 * API-bound rate plus a quarter, rounded up to 1,000 and capped at the table quota.
 */
function recommend(stack: Scenario) {
  const used = stack.endToEnd.usedPerSecond;
  const warm = (units: number, quota: number) => Math.min(quota, Math.ceil((units * 1.25) / 1000) * 1000);
  return {
    dispensers: RECOMMENDED_K,
    apiThrottle,
    reservedConcurrency: {
      placeOrder: functions.placeOrder.reservedConcurrency,
      authorizer: functions.authorizer.reservedConcurrency,
    },
    warmThroughputWriteUnitsPerSecond: {
      sales: warm(used['sales table'] ?? 0, AWS.tableQuotaWcu),
      claims: warm(used['claims table'] ?? 0, AWS.tableQuotaWcu),
      orders: warm(used['orders table'] ?? 0, AWS.tableQuotaWcu),
    },
    warmThroughputReadUnitsPerSecond: { orders: warm(used['orders reads'] ?? 0, AWS.tableQuotaRcu) },
    /** Reservations plus the 100 AWS keeps unreserved: must fit the account's concurrency quota. */
    lambdaAccountConcurrencyNeeded:
      functions.placeOrder.reservedConcurrency +
      functions.authorizer.reservedConcurrency +
      AWS.lambdaUnreserved,
    tableUnitsPerSecondAtApiQuota: used,
  };
}

/** The model as text: the K × window table per design, the scenarios and the assumptions. */
export function formatCapacity(m: CapacityModel): string {
  const pad = (v: string | number, w: number) => String(v).padStart(w);
  const num = (v: number) => v.toLocaleString('en-US');
  const lines: string[] = [];
  for (const design of ['today', 'dispensers'] as const) {
    lines.push(
      design === 'today'
        ? '  Today: one transaction over a shared stock shard + order + counter'
        : '  New: plain conditional update on one dispenser, then a transaction over unshared items',
      `  ${pad('K', 4)} | ${m.sweep.windowsMs.map((w) => pad(`${w} ms`, 8)).join(' ')} | backend only (API limits lifted)`,
    );
    for (const k of m.sweep.ks) {
      const rs = m.rows.filter((r) => r.design === design && r.k === k);
      const limits = [...new Set(rs.map((r) => r.limitedBy))].join('; ');
      lines.push(
        `  ${pad(k, 4)} | ${rs.map((r) => pad(num(r.checkoutsPerSecond), 8)).join(' ')} | ${rs.map((r) => pad(num(r.backendPerSecond), 7)).join(' ')}   ${limits}`,
      );
    }
    lines.push('');
  }
  lines.push(`  Scenarios (dispensers, K = ${RECOMMENDED_K}, ${SCENARIO_WINDOW_MS} ms window):`);
  for (const s of m.scenarios)
    lines.push(
      `   - ${s.name}: ${num(s.checkoutsPerSecond)}/s (${s.limitedBy}); backend ${num(s.backendPerSecond)}/s (${s.backendLimitedBy}); first second ${num(s.firstSecond)}`,
    );
  for (const o of m.sellOut)
    lines.push(
      `   - ${num(o.units)} units, ${o.design} (K = ${RECOMMENDED_K}, ${SCENARIO_WINDOW_MS} ms, from a cold stack): ${o.soldOutAtS === null ? `not sold out in the run (${num(o.unitsSold)} sold)` : `sold out at ${o.soldOutAtS} s, ${num(o.averagePerSecond ?? 0)}/s on average`}`,
    );
  const r = m.recommended;
  const t = (x: { rateLimit: number; burstLimit: number }) => `${num(x.rateLimit)}/${num(x.burstLimit)}`;
  const w = r.warmThroughputWriteUnitsPerSecond;
  lines.push(
    `  Recommended: K = ${r.dispensers} dispensers for a large sale; API throttle stage ${t(r.apiThrottle.stage)}, checkout ${t(r.apiThrottle.methods.placeOrder)} (rate/burst); reserved concurrency placeOrder ${r.reservedConcurrency.placeOrder}, authorizer ${r.reservedConcurrency.authorizer}; warm throughput (write units/s) sales ${num(w.sales)}, claims ${num(w.claims)}, orders ${num(w.orders)}, orders reads ${num(r.warmThroughputReadUnitsPerSecond.orders)} RCU/s; Lambda account concurrency needed ${num(r.lambdaAccountConcurrencyNeeded)} (default quota ${num(AWS.lambdaAccountConcurrency)}).`,
    `  Target: ${m.target}: ${m.met ? 'met' : 'NOT met'} (worst window ${num(m.headline.dispensersWorstWindow)}/s, backend ${num(m.headline.dispensersBackendWorstWindow)}/s; today ${num(m.headline.todayWorstWindow)}–${num(m.headline.todayBestWindow)}/s)`,
    '  Assumptions:',
    ...m.assumptions.map((a) => `   - ${a}`),
    `   - ${m.todayDesign}`,
  );
  return lines.join('\n');
}

/** The results.json section: the model, and the target it is held to. */
export function capacitySection(m: CapacityModel) {
  return { ...m, note: 'a model of AWS from its documented limits, not a measurement' };
}

export function capacitySummary(m: CapacityModel): string {
  const h = m.headline;
  const num = (v: number) => v.toLocaleString('en-US');
  return `capacity (model): dispensers at K = ${h.k} take ${num(h.dispensersWorstWindow)}–${num(h.dispensersBestWindow)}/s end to end over windows ${h.windowsMs.join('/')} ms (${h.dispensersLimitedBy}; without API limits ≥ ${num(h.dispensersBackendWorstWindow)}/s); today's design ${num(h.todayWorstWindow)}–${num(h.todayBestWindow)}/s at K = ${h.k} (${m.met ? 'target met' : 'target NOT met'})`;
}
