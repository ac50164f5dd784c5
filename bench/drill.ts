/**
 * The benchmark's drill: N buyers for U units through the full local stack (HTTP → authorizer →
 * checkout, consumers and payment running, declines off), then "last request → every order
 * terminal", then the invariant audit.
 */

import { join } from 'node:path';
import { createSale } from '../load/lib/api-calls.ts';
import { typedApi } from '../load/lib/api-client.ts';
import { averageBetween, type CpuShares } from '../load/lib/cpu.ts';
import { countOpenOrders, saleProbe, sampleStock, waitUntilZero } from '../load/lib/local.ts';
import type { LocalStack } from '../load/lib/local-stack.ts';
import { type RequestSample, round, type StockSample } from '../load/lib/stats.ts';
import { latencySummary } from '../load/lib/summary.ts';
import { type AuditReport, auditSale, formatReport } from '../shared/audit/invariants.ts';

export interface DrillOptions {
  buyers: number;
  units: number;
  concurrency: number;
  perUserLimit: number;
  settleTimeoutMs: number;
  tag: string;
}

export interface PhaseStats {
  requests: number;
  seconds: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  cpu: CpuShares;
}

export interface DrillOutcome {
  saleId: string;
  accepted: number;
  soldOut: number;
  errors: number;
  otherOutcomes: Record<string, number>;
  throughputPerSec: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  durationSeconds: number;
  settleSeconds: number | null;
  auditOk: boolean;
  unitsSold: number;
  /** Percent of one core per process while the buyers were running. */
  cpu: CpuShares;
  /** Until the last 202, then after it: where the latency comes from. */
  phases: { selling: PhaseStats; soldOut: PhaseStats };
  audit: AuditReport;
  auditText: string;
  startedAt: number;
  lastRequestAt: number;
  settledAt: number | null;
  samples: RequestSample[];
  stock: StockSample[];
}

export async function runDrill(
  { runtime, db, generator: client, dataDir }: LocalStack,
  cpuSeries: () => { t: number; shares: CpuShares }[],
  o: DrillOptions,
): Promise<DrillOutcome> {
  const tables = runtime.resources.tableNames;
  const admin = await runtime.issuer.sign('bench-admin', true);
  const sale = await createSale(typedApi(runtime.url), admin, {
    saleId: `${o.tag}`,
    totalStock: o.units,
    perUserLimit: o.perUserLimit,
  });
  const sampler = sampleStock(await saleProbe(db, tables, sale.saleId), 200);
  const result = await client.run(
    {
      url: runtime.url,
      saleId: sale.saleId,
      keyFile: join(dataDir, 'dev-issuer-key.json'),
      userPrefix: `${o.tag}-buyer`,
      buyers: o.buyers,
      concurrency: o.concurrency,
      maxDurationMs: 300_000,
      requestTimeoutMs: 10_000,
    },
    400_000,
  );
  const lastRequestAt = result.endedAt;
  // Sampled every 500 ms; give the meter one more interval to cover the end of the run.
  await new Promise((r) => setTimeout(r, 600));
  const cpu = averageBetween(cpuSeries(), result.startedAt, lastRequestAt + 500);
  const settled = await waitUntilZero(
    () => countOpenOrders(db, tables.orders, sale.saleId),
    o.settleTimeoutMs,
  );
  await new Promise((r) => setTimeout(r, 600));
  await sampler.stop();

  const audit = await auditSale(db, tables, sale.saleId, {
    acceptedOrderIds: result.orderIds,
    expectSettled: true,
    expectSoldOut: o.buyers > o.units,
  });
  const samples = result.samples;
  const latency = latencySummary(samples.map((s) => s.ms));
  const outcomes: Record<string, number> = {};
  for (const s of samples) {
    const key =
      s.status === 202 || s.status === 200 ? 'accepted' : s.code ? `${s.status} ${s.code}` : String(s.status);
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }
  const errors = samples.filter((s) => s.status === 0 || s.status >= 500).length;
  const { accepted = 0, '409 SOLD_OUT': soldOut = 0, ...otherOutcomes } = outcomes;
  const durationSeconds = (lastRequestAt - result.startedAt) / 1000;
  const lastAcceptedAt = Math.max(
    result.startedAt,
    ...samples.filter((s) => s.status === 202).map((s) => s.end),
  );
  const series = cpuSeries();
  const phase = (list: RequestSample[], from: number, to: number): PhaseStats => {
    const seconds = Math.max(0.001, (to - from) / 1000);
    return {
      requests: list.length,
      seconds: round(seconds, 2),
      perSec: round(list.length / seconds, 1),
      p50Ms: latencySummary(list.map((s) => s.ms)).p50Ms,
      p99Ms: latencySummary(list.map((s) => s.ms)).p99Ms,
      cpu: averageBetween(series, from, to),
    };
  };
  return {
    saleId: sale.saleId,
    accepted,
    soldOut,
    errors,
    otherOutcomes,
    throughputPerSec: round(samples.length / durationSeconds, 1),
    p50Ms: latency.p50Ms,
    p95Ms: latency.p95Ms,
    p99Ms: latency.p99Ms,
    maxMs: latency.maxMs,
    durationSeconds: round(durationSeconds, 2),
    settleSeconds: settled.at === undefined ? null : round((settled.at - lastRequestAt) / 1000, 2),
    auditOk: audit.ok,
    unitsSold: audit.stock.sold,
    cpu,
    phases: {
      selling: phase(
        samples.filter((s) => s.end <= lastAcceptedAt),
        result.startedAt,
        lastAcceptedAt,
      ),
      soldOut: phase(
        samples.filter((s) => s.end > lastAcceptedAt),
        lastAcceptedAt,
        lastRequestAt,
      ),
    },
    audit,
    auditText: formatReport(audit),
    startedAt: result.startedAt,
    lastRequestAt,
    settledAt: settled.at ?? null,
    samples,
    stock: sampler.samples,
  };
}
