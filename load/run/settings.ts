/** `npm run load` (the Artillery drill): its options, their checks, and the arrival phase they give. */
import { existsSync } from 'node:fs';
import { numberOption, parseFlags, stringOption, UsageError } from '../lib/args.ts';
import { round } from '../lib/stats.ts';

const HELP = `npm run load -- [options]

Local (default): starts the local runtime in this process and drills it.
  --units N            stock of the drill sale (LOAD_UNITS, default 200)
  --buyers N           virtual buyers, one arrival each (LOAD_BUYERS, default 2000)
  --rate N             arrivals per second (LOAD_RATE, default 100) — or —
  --duration S         spread the buyers over S seconds (LOAD_DURATION)
  --limit N            per-buyer limit of the sale (default 2)
  --shards N           stock shards (default: derived by the API from the stock)
  --p99 MS             Artillery ensure: checkout p99 must stay below (LOAD_P99_MS, default 3000)
  --payment-token T    token every buyer pays with (default tok_ok, or tok_random with rates)
  --decline-rate R     PAYMENT_DECLINE_RATE for tok_random (0..1, default 0)
  --error-rate R       PAYMENT_ERROR_RATE for tok_random (0..1, default 0)
  --latency-ms N       PAYMENT_LATENCY_MS (default 0)
  --retry-share R      buyers who repeat their request with the same key (default 0.1)
  --over-limit-share R buyers who buy their limit and try one more (default 0.05)
  --poll-interval-ms N accepted buyers poll GET /orders/{id} this often (default 1000)
  --poll-timeout S     …and give up after S seconds (default 90; counted as orders.unsettled)
  --warmup S           seconds of warm-up traffic on a separate sale first (default 15; 0 = none)
  --reconcile S        reconciler period (RECONCILE_INTERVAL_SECONDS, default 5)
  --settle-timeout S   how long to wait for every order to be terminal (default 120)

Deployed stack:
  --target URL         API base URL (LOAD_TARGET); nothing is started
  --tokens FILE        one buyer per line: "userId,token" or "token" (LOAD_TOKENS)
  --sale ID            drill an existing sale (LOAD_SALE), or
  --admin-token T      create the sale with this admin token (ADMIN_TOKEN)
  Audit needs SALES_TABLE, ORDERS_TABLE, PAYMENTS_TABLE, CLAIMS_TABLE (+ AWS_REGION and credentials).

Burst (open loop, buyers honour Retry-After): npm run load -- --burst --help

Reports: load/reports/<run>/ (report.json, chart.svg, report.html, artillery.json, artillery.log).`;

export interface Settings {
  target?: string;
  tokensFile?: string;
  saleId?: string;
  adminToken?: string;
  units: number;
  buyers?: number;
  rate?: number;
  duration?: number;
  limit: number;
  shards?: number;
  p99: number;
  paymentToken: string;
  declineRate: number;
  errorRate: number;
  latencyMs: number;
  retryShare: number;
  overLimitShare: number;
  warmupSeconds: number;
  reconcileSeconds: number;
  settleTimeoutSeconds: number;
  pollIntervalMs: number;
  pollTimeoutSeconds: number;
}

/** The settings, or undefined when help was asked for (and printed). */
export function settingsFrom(argv: string[]): Settings | undefined {
  const v = parseFlags(argv, HELP, [
    'target',
    'tokens',
    'sale',
    'admin-token',
    'units',
    'buyers',
    'rate',
    'duration',
    'limit',
    'shards',
    'p99',
    'payment-token',
    'decline-rate',
    'error-rate',
    'latency-ms',
    'retry-share',
    'over-limit-share',
    'warmup',
    'reconcile',
    'settle-timeout',
    'poll-interval-ms',
    'poll-timeout',
  ]);
  if (!v) return undefined;
  const n = (
    name: keyof typeof v,
    env: string | undefined,
    fallback: number | undefined,
    min: number,
    max: number,
    integer = true,
  ) => numberOption(name, v[name], env, fallback, { min, max, integer });
  const declineRate = n('decline-rate', 'PAYMENT_DECLINE_RATE', 0, 0, 1, false) as number;
  const errorRate = n('error-rate', 'PAYMENT_ERROR_RATE', 0, 0, 1, false) as number;
  const s: Settings = {
    target: stringOption(v.target, 'LOAD_TARGET'),
    tokensFile: stringOption(v.tokens, 'LOAD_TOKENS'),
    saleId: stringOption(v.sale, 'LOAD_SALE'),
    adminToken: stringOption(v['admin-token'], 'ADMIN_TOKEN'),
    units: n('units', 'LOAD_UNITS', 200, 1, 1_000_000) as number,
    buyers: n('buyers', 'LOAD_BUYERS', undefined, 1, 200_000),
    rate: n('rate', 'LOAD_RATE', undefined, 0.1, 10_000, false),
    duration: n('duration', 'LOAD_DURATION', undefined, 1, 3_600),
    limit: n('limit', undefined, 2, 1, 1000) as number,
    shards: n('shards', undefined, undefined, 1, 50),
    p99: n('p99', 'LOAD_P99_MS', 3000, 1, 600_000) as number,
    paymentToken: v['payment-token'] ?? (declineRate > 0 || errorRate > 0 ? 'tok_random' : 'tok_ok'),
    declineRate,
    errorRate,
    latencyMs: n('latency-ms', 'PAYMENT_LATENCY_MS', 0, 0, 10_000) as number,
    retryShare: n('retry-share', undefined, 0.1, 0, 1, false) as number,
    overLimitShare: n('over-limit-share', undefined, 0.05, 0, 1, false) as number,
    warmupSeconds: n('warmup', undefined, 15, 0, 300) as number,
    reconcileSeconds: n('reconcile', 'RECONCILE_INTERVAL_SECONDS', 5, 1, 3_600) as number,
    settleTimeoutSeconds: n('settle-timeout', undefined, 120, 1, 3_600) as number,
    pollIntervalMs: n('poll-interval-ms', undefined, 1000, 50, 60_000) as number,
    pollTimeoutSeconds: n('poll-timeout', undefined, 90, 1, 3_600) as number,
  };
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(s.paymentToken))
    throw new UsageError('--payment-token must look like tok_ok');
  if (s.target) {
    if (!s.tokensFile) throw new UsageError('--target needs --tokens FILE (one buyer token per line)');
    if (!s.saleId && !s.adminToken)
      throw new UsageError('--target needs --sale ID or --admin-token to create one');
    if (!existsSync(s.tokensFile)) throw new UsageError(`No such tokens file: ${s.tokensFile}`);
    new URL(s.target);
  }
  if (s.rate !== undefined && s.duration !== undefined && s.buyers !== undefined)
    throw new UsageError('Give two of --buyers, --rate, --duration, not all three');
  return s;
}

/** The arrival phase: buyers over a duration, from any two of buyers/rate/duration. */
export function phaseOf(
  s: Settings,
  tokenCount: number | undefined,
): { buyers: number; duration: number; rate: number } {
  let buyers = s.buyers;
  if (buyers === undefined && s.rate !== undefined && s.duration !== undefined)
    buyers = Math.round(s.rate * s.duration);
  buyers ??= tokenCount ?? 2000;
  const duration = s.duration ?? Math.max(1, Math.ceil(buyers / (s.rate ?? 100)));
  return { buyers, duration, rate: round(buyers / duration, 1) };
}
