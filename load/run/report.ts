/**
 * The drill's report in load/reports/<run>/: report.json (figures), chart.svg, report.html and
 * summary.txt; the summary is also printed. Passed when Artillery's checks pass, every order
 * settled (with table access) and the audit is clean.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { formatReport } from '../../shared/audit/invariants.ts';
import type { ArtilleryRun } from '../lib/artillery.ts';
import { renderChartSvg, renderReportHtml } from '../lib/chart.ts';
import type { CpuShares } from '../lib/cpu.ts';
import { round, type StockSample, timeline } from '../lib/stats.ts';
import { formatEndpoints, readSamples, summarizeByName } from '../lib/summary.ts';
import type { RunFiles } from './artillery-drill.ts';
import type { DrillSale } from './sale.ts';
import type { phaseOf, Settings } from './settings.ts';
import type { Settled } from './settle.ts';

export interface DrillRun {
  runId: string;
  local: boolean;
  baseUrl: string;
  /** Table access: settling and the audit were owed. */
  audited: boolean;
  sale: DrillSale;
  phase: ReturnType<typeof phaseOf>;
  s: Settings;
  art: ArtilleryRun;
  cpu: { average: CpuShares; series: { t: number; shares: CpuShares }[] };
  stock: StockSample[];
  settled: Settled;
  files: RunFiles;
}

/** Order ids the API accepted during the drill (the processor appends each one). */
export function acceptedOrders(files: RunFiles): string[] {
  return [...new Set(readFileSync(files.orders, 'utf8').split('\n').filter(Boolean))];
}

/** Writes the report files and prints the summary; true when the drill passed. */
export function writeReport(r: DrillRun, accepted: string[]): boolean {
  const { s, phase, art, files, sale } = r;
  const { settledAt, audit } = r.settled;
  const cpu = r.cpu.average;
  const samples = readSamples(files.events);
  const checkouts = samples.filter((x) => x.name === 'checkout');
  const firstAt = Math.min(...checkouts.map((x) => x.end - x.ms));
  const lastCheckoutAt = Math.max(...checkouts.map((x) => x.end));
  const endpoints = summarizeByName(samples);
  const bucketMs = lastCheckoutAt - firstAt > 30_000 ? 1000 : 500;
  const points = timeline(samples, firstAt, bucketMs);
  const markers = [{ at: lastCheckoutAt, label: 'last checkout' }];
  if (settledAt) markers.push({ at: settledAt, label: 'all terminal' });
  const counters = art.aggregate?.counters ?? {};
  const pick = (prefix: string) =>
    Object.fromEntries(Object.entries(counters).filter(([k]) => k.startsWith(prefix)));
  const checkoutSummary = endpoints.checkout;
  const artilleryOk = art.exitCode === 0 && art.checks.every((c) => c.ok);
  const svg = renderChartSvg({
    title: `Drill ${sale.saleId}: ${phase.buyers} buyers for ${sale.units} units`,
    subtitle: [
      `${r.local ? 'local runtime' : r.baseUrl} · ${phase.rate} arrivals/s over ${phase.duration} s · ${accepted.length} orders accepted`,
      `checkout p50 ${checkoutSummary?.p50Ms ?? '-'} ms, p99 ${checkoutSummary?.p99Ms ?? '-'} ms · audit ${audit ? (audit.ok ? 'clean' : 'VIOLATIONS') : 'not run'} · ${artilleryOk ? 'Artillery checks passed' : 'Artillery checks FAILED'}`,
    ],
    start: firstAt,
    points,
    bucketSeconds: bucketMs / 1000,
    // Stock from just before the first request to a little after the end of the drill.
    stock: r.stock.filter(
      (x) => x.t >= firstAt - 500 && x.t <= Math.max(lastCheckoutAt, settledAt ?? 0) + 3_000,
    ),
    totalStock: sale.units,
    markers,
    latencyTargetMs: s.p99,
  });
  const settleSeconds = settledAt ? round(Math.max(0, settledAt - lastCheckoutAt) / 1000, 2) : null;
  const ok = artilleryOk && (audit ? audit.ok : true) && (!r.audited || !!settledAt);
  const report = {
    runId: r.runId,
    ok,
    mode: r.local ? 'local' : 'deployed',
    target: r.baseUrl,
    saleId: sale.saleId,
    units: sale.units,
    perUserLimit: sale.limit,
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
    cpuSeries: r.cpu.series.map((x) => ({ t: round((x.t - firstAt) / 1000, 1), ...x.shares })),
    timeline: points,
  };
  writeFileSync(files.report, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(files.chart, svg);
  const auditText = audit
    ? formatReport(audit)
    : 'Audit not run: set SALES_TABLE, ORDERS_TABLE, PAYMENTS_TABLE.';
  const summaryText = [
    `Drill ${r.runId}: ${ok ? 'PASSED' : 'FAILED'}`,
    `  ${phase.buyers} buyers over ${phase.duration} s for ${sale.units} units (sale ${sale.saleId}, limit ${sale.limit})`,
    formatEndpoints(endpoints),
    `  idempotent retries: ${counters['idempotency.same_order'] ?? 0} same order, ${counters['idempotency.mismatch'] ?? 0} mismatched, ${counters['idempotency.retry_refused'] ?? 0} answered 429 RETRY`,
    `  over-limit tries:   ${counters['limit.refused'] ?? 0} refused PURCHASE_LIMIT_EXCEEDED, ${counters['limit.sold_out_first'] ?? 0} SOLD_OUT first, ${counters['limit.breached'] ?? 0} accepted (must be 0)`,
    `  orders: ${accepted.length} accepted; ${settleSeconds === null ? (r.audited ? 'NOT all terminal' : 'settling not observed (no table access)') : `all terminal ${settleSeconds} s after the last checkout`}`,
    `  Artillery checks: ${art.checks.length === 0 ? 'none reported' : `${art.checks.filter((c) => c.ok).length} ok, ${art.checks.filter((c) => !c.ok).length} failed`}`,
    ...art.checks.filter((c) => !c.ok).map((c) => `    FAILED: ${c.check}`),
    `  CPU (% of one core, whole drill): ${Object.entries(cpu)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    auditText,
  ].join('\n');
  writeFileSync(
    files.html,
    renderReportHtml(`Flash-sale drill ${r.runId}`, svg, [
      { heading: 'Summary', body: summaryText },
      {
        heading: 'Artillery checks',
        body: art.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.check}`).join('\n') || 'none',
      },
    ]),
  );
  appendFileSync(join(files.dir, 'summary.txt'), `${summaryText}\n`);
  console.log(
    `\n${summaryText}\n\nReport: ${relative(process.cwd(), files.html)} (chart: ${relative(process.cwd(), files.chart)})`,
  );
  return ok;
}
