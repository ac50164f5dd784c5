/**
 * `npm run load` — a flash-sale drill with Artillery, then proof that the books balance.
 *
 * Local (default): starts the whole system in this process (DynamoDB Local, fauxqs, HTTP server,
 * consumers, reconciler), creates a sale through the admin route, mints one token per buyer through
 * `POST /dev/tokens`, warms the emulator up on a separate sale, runs load/flash-sale.yml, waits for
 * every order to be terminal, audits the sale and writes a report with a chart to load/reports/.
 *
 * Deployed: `--target URL --tokens FILE [--sale ID | --admin-token T]`; with SALES_TABLE,
 * ORDERS_TABLE, PAYMENTS_TABLE (and AWS credentials) it also waits and audits.
 *
 * Exit status: 0 when Artillery's checks pass, every order settled and the audit is clean; 1 otherwise.
 * See docs/LOAD.md.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Runtime, startRuntime } from '../local/runtime/index.ts';
import { documentClient } from '../shared/adapters/dynamo/client.ts';
import { type AuditReport, type AuditTables, auditSale, formatReport } from '../shared/audit/invariants.ts';
import { burstMain } from './burst.ts';
import { numberOption, runMain, stringOption, UsageError } from './lib/args.ts';
import { type ArtilleryRun, bundleProcessor, runArtillery } from './lib/artillery.ts';
import { renderChartSvg, renderReportHtml } from './lib/chart.ts';
import { cpuMeter } from './lib/cpu.ts';
import { ClientProcess } from './lib/generator-process.ts';
import {
  countOpenOrders,
  createSaleVia,
  joinUrl,
  saleProbe,
  sampleStock,
  settledAtFrom,
  waitUntilZero,
} from './lib/local.ts';
import { round, timeline } from './lib/stats.ts';
import { formatEndpoints, readSamples, summarizeByName } from './lib/summary.ts';

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

interface Settings {
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

function settingsFrom(argv: string[]): Settings | undefined {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string' },
      tokens: { type: 'string' },
      sale: { type: 'string' },
      'admin-token': { type: 'string' },
      units: { type: 'string' },
      buyers: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      limit: { type: 'string' },
      shards: { type: 'string' },
      p99: { type: 'string' },
      'payment-token': { type: 'string' },
      'decline-rate': { type: 'string' },
      'error-rate': { type: 'string' },
      'latency-ms': { type: 'string' },
      'retry-share': { type: 'string' },
      'over-limit-share': { type: 'string' },
      warmup: { type: 'string' },
      reconcile: { type: 'string' },
      'settle-timeout': { type: 'string' },
      'poll-interval-ms': { type: 'string' },
      'poll-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) return undefined;
  const n = (
    name: string,
    env: string | undefined,
    fallback: number | undefined,
    min: number,
    max: number,
    integer = true,
  ) =>
    numberOption(name, (v as Record<string, string | undefined>)[name], env, fallback, { min, max, integer });
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
function phaseOf(
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

async function mintTokens(baseUrl: string, userIds: string[], admin = false): Promise<string[]> {
  const tokens = new Array<string>(userIds.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < userIds.length; i = next++) {
      const res = await fetch(joinUrl(baseUrl, '/dev/tokens'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: userIds[i], admin }),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status !== 200) throw new Error(`POST /dev/tokens answered ${res.status}: ${await res.text()}`);
      tokens[i] = ((await res.json()) as { token: string }).token;
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, userIds.length) }, worker));
  return tokens;
}

const ok0 = (art: ArtilleryRun) => art.exitCode === 0 && art.checks.every((c) => c.ok);

async function main(): Promise<number> {
  const s = settingsFrom(process.argv.slice(2));
  if (!s) {
    console.log(HELP);
    return 0;
  }
  const local = !s.target;
  const runId = `${local ? 'local' : 'remote'}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`;
  const root = resolve(import.meta.dirname, '..');
  const dir = join(root, 'load', 'reports', runId);
  mkdirSync(dir, { recursive: true });
  const files = {
    events: join(dir, 'events.jsonl'),
    orders: join(dir, 'orders.txt'),
    tokens: join(dir, 'tokens.csv'),
    artilleryJson: join(dir, 'artillery.json'),
    artilleryLog: join(dir, 'artillery.log'),
    report: join(dir, 'report.json'),
    chart: join(dir, 'chart.svg'),
    html: join(dir, 'report.html'),
  };
  writeFileSync(files.events, '');
  writeFileSync(files.orders, '');

  let runtime: Runtime | undefined;
  let dataDir: string | undefined;
  let db: DynamoDBDocumentClient | undefined;
  let tables: AuditTables | undefined;
  let generator: ClientProcess | undefined;
  try {
    let baseUrl: string;
    if (local) {
      dataDir = mkdtempSync(join(tmpdir(), 'flash-load-'));
      console.log('Starting the local runtime (DynamoDB Local, fauxqs, HTTP, consumers, reconciler)…');
      runtime = await startRuntime({
        port: 0,
        dataDir,
        inMemory: true,
        reconcileIntervalSeconds: s.reconcileSeconds,
        env: {
          PAYMENT_DECLINE_RATE: String(s.declineRate),
          PAYMENT_ERROR_RATE: String(s.errorRate),
          PAYMENT_LATENCY_MS: String(s.latencyMs),
        },
      });
      baseUrl = runtime.url;
      db = documentClient({
        region: runtime.endpoints.region,
        endpoints: { dynamodb: runtime.endpoints.dynamodb },
      });
      tables = runtime.resources.tableNames;
      console.log(`Runtime at ${baseUrl}; DynamoDB Local at ${runtime.endpoints.dynamodb}`);
    } else {
      // No trailing slash: Artillery appends each request's path ("/sales/…") to the target.
      baseUrl = (s.target as string).replace(/\/+$/, '');
      const names = [
        process.env.SALES_TABLE,
        process.env.ORDERS_TABLE,
        process.env.PAYMENTS_TABLE,
        process.env.CLAIMS_TABLE,
      ];
      if (names.every(Boolean)) {
        tables = {
          sales: names[0] as string,
          orders: names[1] as string,
          payments: names[2] as string,
          claims: names[3] as string,
        };
        db = documentClient({
          region: process.env.AWS_REGION ?? 'us-east-1',
          endpoints: { dynamodb: process.env.DYNAMODB_ENDPOINT },
        });
      }
    }

    // The sale.
    let saleId = s.saleId;
    let units = s.units;
    let limit = s.limit;
    const adminToken =
      s.adminToken ?? (local ? (await mintTokens(baseUrl, ['load-admin'], true))[0] : undefined);
    if (!saleId) {
      const sale = await createSaleVia(baseUrl, adminToken as string, {
        saleId: `drill-${runId
          .replace(/^local-|^remote-/, '')
          .replace(/[^A-Za-z0-9]/g, '')
          .slice(-14)}`,
        totalStock: s.units,
        perUserLimit: s.limit,
        ...(s.shards ? { shards: s.shards } : {}),
      });
      saleId = sale.saleId;
      console.log(`Created sale ${saleId}: ${sale.totalStock} units, limit ${sale.perUserLimit} per buyer.`);
    } else {
      const res = await fetch(joinUrl(baseUrl, `/sales/${encodeURIComponent(saleId)}`), {
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status !== 200) throw new UsageError(`GET /sales/${saleId} answered ${res.status}`);
      const sale = (await res.json()) as { totalStock: number; perUserLimit: number; available: number };
      units = sale.totalStock;
      limit = sale.perUserLimit;
      console.log(
        `Drilling sale ${saleId}: ${sale.available} of ${sale.totalStock} units left, limit ${limit}.`,
      );
    }

    // Buyers and their tokens.
    let tokenCount: number | undefined;
    let tokensFile = s.tokensFile;
    if (tokensFile) {
      tokenCount = readFileSync(tokensFile, 'utf8')
        .split(/\r?\n/)
        .filter((l) => l.trim() && !l.startsWith('#') && l.trim() !== 'userId,token').length;
    }
    const phase = phaseOf(s, tokenCount);
    if (tokenCount !== undefined && phase.buyers > tokenCount)
      throw new UsageError(`${phase.buyers} buyers but only ${tokenCount} tokens in ${tokensFile}`);
    if (local) {
      const started = Date.now();
      const userIds = Array.from({ length: phase.buyers }, (_, i) => `${saleId}-buyer-${i}`);
      const tokens = await mintTokens(baseUrl, userIds);
      tokensFile = files.tokens;
      writeFileSync(tokensFile, `${userIds.map((u, i) => `${u},${tokens[i]}`).join('\n')}\n`, {
        mode: 0o600,
      });
      console.log(
        `Minted ${tokens.length} buyer tokens through POST /dev/tokens in ${Date.now() - started} ms.`,
      );
    }

    // Warm-up (local): DynamoDB Local's JVM needs traffic before it runs at full speed.
    if (local && runtime && db && tables && s.warmupSeconds > 0) {
      console.log(`Warming up for ${s.warmupSeconds} s on a separate sale…`);
      generator = new ClientProcess();
      const warmSale = await createSaleVia(baseUrl, adminToken as string, {
        saleId: `${saleId}-warmup`,
        totalStock: 1_000_000,
        perUserLimit: 1000,
        shards: 8,
      });
      const warm = await generator.run(
        {
          url: baseUrl,
          saleId: warmSale.saleId,
          keyFile: join(dataDir as string, 'dev-issuer-key.json'),
          userPrefix: `${saleId}-warm`,
          buyers: s.warmupSeconds * 500,
          concurrency: 16,
          maxDurationMs: s.warmupSeconds * 1000,
          requestTimeoutMs: 10_000,
        },
        s.warmupSeconds * 1000 + 60_000,
      );
      generator.stop();
      generator = undefined;
      const client = db;
      const ordersTable = tables.orders;
      const drained = await waitUntilZero(
        () => countOpenOrders(client, ordersTable, warmSale.saleId),
        120_000,
        250,
      );
      console.log(
        `Warm-up: ${warm.orderIds.length} checkouts, pipeline drained ${drained.at ? 'in time' : 'NOT within 120 s'}.`,
      );
    }

    // Stock (and, with table access, open orders) over time, for the chart.
    let probe: () => Promise<{ available: number; open?: number }>;
    if (db && tables) {
      probe = await saleProbe(db, tables, saleId);
    } else {
      const url = joinUrl(baseUrl, `/sales/${encodeURIComponent(saleId)}`);
      probe = async () => {
        const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
        return { available: Number(((await res.json()) as { available: number }).available) };
      };
    }
    const sampler = sampleStock(probe, local ? 250 : 1000);

    const processor = await bundleProcessor(join(root, 'load', 'processor.ts'), join(root, 'load', 'dist'));
    const meter = cpuMeter({}, 1000, local ? 'runtime' : 'loadRunner');
    console.log(
      `\nDrill: ${phase.buyers} buyers over ${phase.duration} s (${phase.rate}/s) for ${units} units of ${saleId}; checkout p99 bound ${s.p99} ms.\n`,
    );
    const art: ArtilleryRun = await runArtillery({
      script: join(root, 'load', 'flash-sale.yml'),
      target: baseUrl,
      overrides: {
        config: {
          processor,
          phases: [{ name: 'spike', duration: phase.duration, arrivalCount: phase.buyers }],
          ensure: {
            thresholds: [{ 'plugins.metrics-by-endpoint.response_time.checkout.p99': s.p99 }],
          },
        },
      },
      outputJson: files.artilleryJson,
      logFile: files.artilleryLog,
      env: {
        LOAD_SALE_ID: saleId,
        LOAD_TOKENS_FILE: tokensFile as string,
        LOAD_RUN_ID: runId,
        LOAD_PAYMENT_TOKEN: s.paymentToken,
        LOAD_RETRY_SHARE: String(s.retryShare),
        LOAD_OVER_LIMIT_SHARE: String(s.overLimitShare),
        LOAD_POLL_INTERVAL_MS: String(s.pollIntervalMs),
        LOAD_POLL_TIMEOUT_S: String(s.pollTimeoutSeconds),
        LOAD_EVENTS_FILE: files.events,
        LOAD_ORDERS_FILE: files.orders,
      },
      timeoutMs: (phase.duration + s.pollTimeoutSeconds + 180) * 1000,
      onStart: (pid) => meter.add('artillery', pid),
    });
    const cpuRun = meter.stop();
    const cpu = cpuRun.average;

    const samples = readSamples(files.events);
    const checkouts = samples.filter((x) => x.name === 'checkout');
    const firstAt = Math.min(...checkouts.map((x) => x.end - x.ms));
    const lastCheckoutAt = Math.max(...checkouts.map((x) => x.end));
    const accepted = [...new Set(readFileSync(files.orders, 'utf8').split('\n').filter(Boolean))];

    // Settle and audit.
    let settledAt: number | undefined;
    let audit: AuditReport | undefined;
    if (db && tables) {
      const client = db;
      const ordersTable = tables.orders;
      const id = saleId;
      const settled = await waitUntilZero(
        () => countOpenOrders(client, ordersTable, id),
        s.settleTimeoutSeconds * 1000,
        200,
      );
      if (!settled.at) console.error(`${settled.last} orders still open after ${s.settleTimeoutSeconds} s.`);
      await new Promise((r) => setTimeout(r, 500));
      // Buyers poll their orders, so Artillery ends after settling: the sampler saw when it happened.
      settledAt = settled.at === undefined ? undefined : (settledAtFrom(sampler.samples) ?? settled.at);
      const paymentsFail = s.declineRate > 0 || s.errorRate > 0 || s.paymentToken !== 'tok_ok';
      const demand = phase.buyers;
      audit = await auditSale(db, tables, saleId, {
        acceptedOrderIds: accepted,
        expectSettled: true,
        // Sold out is only owed when demand exceeded stock and nothing came back.
        expectSoldOut: !paymentsFail && demand > units && !s.saleId,
        reconcilePeriodMs: s.reconcileSeconds * 1000,
      });
    }
    await sampler.stop();
    if (settledAt !== undefined) settledAt = settledAtFrom(sampler.samples) ?? settledAt;

    // Report.
    const endpoints = summarizeByName(samples);
    const bucketMs = lastCheckoutAt - firstAt > 30_000 ? 1000 : 500;
    const points = timeline(samples, firstAt, bucketMs);
    const markers = [{ at: lastCheckoutAt, label: 'last checkout' }];
    if (settledAt) markers.push({ at: settledAt, label: 'all terminal' });
    const counters = art.aggregate?.counters ?? {};
    const pick = (prefix: string) =>
      Object.fromEntries(Object.entries(counters).filter(([k]) => k.startsWith(prefix)));
    const checkoutSummary = endpoints.checkout;
    const svg = renderChartSvg({
      title: `Drill ${saleId}: ${phase.buyers} buyers for ${units} units`,
      subtitle: [
        `${local ? 'local runtime' : baseUrl} · ${phase.rate} arrivals/s over ${phase.duration} s · ${accepted.length} orders accepted`,
        `checkout p50 ${checkoutSummary?.p50Ms ?? '-'} ms, p99 ${checkoutSummary?.p99Ms ?? '-'} ms · audit ${audit ? (audit.ok ? 'clean' : 'VIOLATIONS') : 'not run'} · ${ok0(art) ? 'Artillery checks passed' : 'Artillery checks FAILED'}`,
      ],
      start: firstAt,
      points,
      bucketSeconds: bucketMs / 1000,
      // Stock from just before the first request to a little after the end of the drill.
      stock: sampler.samples.filter(
        (x) => x.t >= firstAt - 500 && x.t <= Math.max(lastCheckoutAt, settledAt ?? 0) + 3_000,
      ),
      totalStock: units,
      markers,
      latencyTargetMs: s.p99,
    });
    const settleSeconds = settledAt ? round(Math.max(0, settledAt - lastCheckoutAt) / 1000, 2) : null;
    const failedChecks = art.checks.filter((c) => !c.ok);
    const ok =
      art.exitCode === 0 && failedChecks.length === 0 && (audit ? audit.ok : true) && (!db || !!settledAt);
    const report = {
      runId,
      ok,
      mode: local ? 'local' : 'deployed',
      target: baseUrl,
      saleId,
      units,
      perUserLimit: limit,
      phase,
      payment: {
        token: s.paymentToken,
        declineRate: s.declineRate,
        errorRate: s.errorRate,
        latencyMs: s.latencyMs,
      },
      artillery: {
        exitCode: art.exitCode,
        checks: art.checks,
        counters: {
          ...pick('checkout.'),
          ...pick('idempotency.'),
          ...pick('limit.'),
          ...pick('orders.'),
          ...pick('buyers.'),
          ...pick('vusers.'),
        },
      },
      endpoints,
      acceptedOrders: accepted.length,
      settleSeconds,
      audit: audit ?? null,
      cpuPercentOfOneCore: cpu,
      cpuSeries: cpuRun.series.map((x) => ({ t: round((x.t - firstAt) / 1000, 1), ...x.shares })),
      timeline: points,
    };
    writeFileSync(files.report, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(files.chart, svg);
    const auditText = audit
      ? formatReport(audit)
      : 'Audit not run: set SALES_TABLE, ORDERS_TABLE, PAYMENTS_TABLE.';
    const summaryText = [
      `Drill ${runId}: ${ok ? 'PASSED' : 'FAILED'}`,
      `  ${phase.buyers} buyers over ${phase.duration} s for ${units} units (sale ${saleId}, limit ${limit})`,
      formatEndpoints(endpoints),
      `  idempotent retries: ${counters['idempotency.same_order'] ?? 0} same order, ${counters['idempotency.mismatch'] ?? 0} mismatched, ${counters['idempotency.retry_refused'] ?? 0} answered 429 RETRY`,
      `  over-limit tries:   ${counters['limit.refused'] ?? 0} refused PURCHASE_LIMIT_EXCEEDED, ${counters['limit.sold_out_first'] ?? 0} SOLD_OUT first, ${counters['limit.breached'] ?? 0} accepted (must be 0)`,
      `  orders: ${accepted.length} accepted; ${settleSeconds === null ? (db ? 'NOT all terminal' : 'settling not observed (no table access)') : `all terminal ${settleSeconds} s after the last checkout`}`,
      `  Artillery checks: ${art.checks.length === 0 ? 'none reported' : `${art.checks.filter((c) => c.ok).length} ok, ${art.checks.filter((c) => !c.ok).length} failed`}`,
      ...art.checks.filter((c) => !c.ok).map((c) => `    FAILED: ${c.check}`),
      `  CPU (% of one core, whole drill): ${Object.entries(cpu)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
      auditText,
    ].join('\n');
    writeFileSync(
      files.html,
      renderReportHtml(`Flash-sale drill ${runId}`, svg, [
        { heading: 'Summary', body: summaryText },
        {
          heading: 'Artillery checks',
          body: art.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.check}`).join('\n') || 'none',
        },
      ]),
    );
    appendFileSync(join(dir, 'summary.txt'), `${summaryText}\n`);
    console.log(
      `\n${summaryText}\n\nReport: ${relative(process.cwd(), files.html)} (chart: ${relative(process.cwd(), files.chart)})`,
    );
    return ok ? 0 : 1;
  } finally {
    generator?.stop();
    if (local && existsSync(files.tokens)) rmSync(files.tokens, { force: true });
    db?.destroy();
    if (runtime) await runtime.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

// Modes beyond the Artillery drill live in their own files; the flag picks one.
if (process.argv.includes('--waiting-room')) await import('./waiting-room.ts');
else runMain(process.argv.includes('--burst') ? () => burstMain(process.argv.slice(2)) : main);
