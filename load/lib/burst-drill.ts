/**
 * The burst drill (issue 8): a sale, an open-loop crowd that honours Retry-After, then "last answer
 * → every order terminal" and the invariant audit; the figures bench/results.json keeps under
 * `burst`, and a chart like the drill's. Shared by `npm run load -- --burst` and `npm run bench`.
 */

import { join } from 'node:path';
import { auditSale, formatReport } from '../../shared/audit/invariants.ts';
import { createSale } from './api-calls.ts';
import { typedApi } from './api-client.ts';
import type { BurstConnections, BurstResult } from './burst.ts';
import { renderChartSvg } from './chart.ts';
import { countOpenOrders, saleProbe, sampleStock, WATCH_EVERY_MS, waitUntilZero } from './local.ts';
import type { LocalStack } from './local-stack.ts';
import { round, timeline } from './stats.ts';
import { check, latencySummary, met, type TargetCheck } from './summary.ts';
import { warmUp } from './warm-up.ts';

export const BURST_TARGETS = { answers5xx: 0, p99Ms: 2_000, gaveUp: 0, settleSeconds: 15 };

export interface BurstDrillOptions {
  buyers: number;
  units: number;
  arrivalPerSec: number;
  /** Closed loop: this many buyers at a time instead of arrivals at `arrivalPerSec` (BurstJob). */
  closedLoop?: number;
  maxTries: number;
  connections: BurstConnections;
  /** Seconds of closed-loop traffic on a separate sale first (DynamoDB Local's JVM warms up). */
  warmupSeconds: number;
  settleTimeoutMs: number;
  tag: string;
  /** The chart's title, when the drill stands for something else than the burst (the pipeline bench). */
  chartTitle?: string;
}

export interface BurstFigures {
  buyers: number;
  units: number;
  arrivalPerSec: number;
  /** Set for a closed loop: buyers at a time. */
  closedLoop?: number;
  /** When each buyer's connection opens (on arrival, as real clients do). */
  connections: BurstConnections;
  answersByStatus: Record<string, number>;
  /** Latency of each kind of answer (where the time goes: refusals, sell-outs, orders). */
  latencyByAnswer: Record<string, { p50Ms: number; p99Ms: number; maxMs: number }>;
  answers5xx: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  accepted: number;
  gaveUp: number;
  settleSeconds: number | null;
  auditOk: boolean;
  /** More detail: every answer counted, retries, and each buyer's time to a final answer. */
  answers: number;
  retries: number;
  transportErrors: number;
  soldOut: number;
  buyerP99Ms: number;
  unitsSold: number;
  arrivalSeconds: number;
  warmup: { seconds: number; checkouts: number };
  targets: Record<string, TargetCheck>;
  audit: string;
}

export async function runBurstDrill(
  stack: LocalStack,
  o: BurstDrillOptions,
): Promise<{ figures: BurstFigures; chartSvg: string; result: BurstResult }> {
  const { runtime, db, generator, dataDir } = stack;
  const tables = runtime.resources.tableNames;
  const admin = await runtime.issuer.sign(`${o.tag}-admin`, true);
  const keyFile = join(dataDir, 'dev-issuer-key.json');
  const warm =
    o.warmupSeconds > 0
      ? await warmUp(stack, { seconds: o.warmupSeconds, concurrency: 16, tag: o.tag })
      : undefined;

  const sale = await createSale(typedApi(runtime.url), admin, {
    saleId: o.tag,
    totalStock: o.units,
    perUserLimit: 1,
  });
  const sampler = sampleStock(await saleProbe(db, tables, sale.saleId), WATCH_EVERY_MS);
  const arrivalSeconds = o.buyers / o.arrivalPerSec;
  const result = await generator.burst(
    {
      url: runtime.url,
      connections: o.connections,
      saleId: sale.saleId,
      keyFile,
      userPrefix: `${o.tag}-buyer`,
      buyers: o.buyers,
      arrivalPerSec: o.arrivalPerSec,
      ...(o.closedLoop ? { closedLoop: o.closedLoop } : {}),
      maxTries: o.maxTries,
      requestTimeoutMs: 30_000,
    },
    // A closed loop's buyers come one after another: allow each seat's share of them 8 tries' waits.
    (o.closedLoop
      ? (o.buyers / o.closedLoop) * o.maxTries * 5 + 120
      : arrivalSeconds + o.maxTries * 2 + 120) *
      1000 +
      60_000,
  );
  const settled = await waitUntilZero(
    () => countOpenOrders(db, tables.orders, sale.saleId),
    o.settleTimeoutMs,
  );
  await new Promise((r) => setTimeout(r, 500));
  await sampler.stop();
  const acceptedIds = result.buyers.flatMap((b) => (b.orderId ? [b.orderId] : []));
  const gaveUp = result.buyers.filter((b) => b.outcome === 'gaveUp').length;
  const audit = await auditSale(db, tables, sale.saleId, {
    acceptedOrderIds: acceptedIds,
    expectSettled: true,
    // Every unit is owed only when demand outlasted stock: buyers who gave up withdrew theirs (gaveUp says so).
    expectSoldOut: o.buyers - gaveUp > o.units,
  });

  const answersByStatus: Record<string, number> = {};
  const latencyOf: Record<string, number[]> = {};
  for (const s of result.samples) {
    const key =
      s.status === 0
        ? `transport ${s.code ?? ''}`.trim()
        : `${s.status}${s.code && s.status >= 400 ? ` ${s.code}` : ''}`;
    answersByStatus[key] = (answersByStatus[key] ?? 0) + 1;
    const bucket = latencyOf[key] ?? [];
    bucket.push(s.ms);
    latencyOf[key] = bucket;
  }
  const latencyByAnswer = Object.fromEntries(
    Object.entries(latencyOf).map(([key, ms]) => {
      const { p50Ms, p99Ms, maxMs } = latencySummary(ms);
      return [key, { p50Ms, p99Ms, maxMs }];
    }),
  );
  const latency = latencySummary(result.samples.map((s) => s.ms));
  const answers5xx = result.samples.filter((s) => s.status >= 500).length;
  const transportErrors = result.samples.filter((s) => s.status === 0).length;
  const accepted = result.buyers.filter((b) => b.outcome === 'accepted').length;
  const settleSeconds =
    settled.at === undefined ? null : round(Math.max(0, settled.at - result.endedAt) / 1000, 2);
  const { p99Ms } = latency;
  const figures: BurstFigures = {
    buyers: o.buyers,
    units: o.units,
    arrivalPerSec: o.arrivalPerSec,
    ...(o.closedLoop ? { closedLoop: o.closedLoop } : {}),
    connections: o.connections,
    answersByStatus,
    latencyByAnswer,
    answers5xx,
    p50Ms: latency.p50Ms,
    p99Ms,
    maxMs: latency.maxMs,
    accepted,
    gaveUp,
    settleSeconds,
    auditOk: audit.ok,
    answers: result.samples.length,
    retries: result.samples.filter((s) => s.name === 'checkout-retry').length,
    transportErrors,
    soldOut: result.samples.filter((s) => s.code === 'SOLD_OUT').length,
    buyerP99Ms: latencySummary(result.buyers.map((b) => b.ms)).p99Ms,
    unitsSold: audit.stock.sold + audit.stock.held,
    arrivalSeconds: round(arrivalSeconds, 2),
    warmup: { seconds: o.warmupSeconds, checkouts: warm?.checkouts ?? 0 },
    targets: {
      answers5xx: check(answers5xx === 0 && transportErrors === 0, '= 0'),
      p99Ms: check(p99Ms <= BURST_TARGETS.p99Ms, `<= ${BURST_TARGETS.p99Ms}`),
      accepted: check(accepted === Math.min(o.units, o.buyers), `= ${o.units}`),
      gaveUp: check(gaveUp === 0, '= 0'),
      settleSeconds: check(
        settleSeconds !== null && settleSeconds <= BURST_TARGETS.settleSeconds,
        `<= ${BURST_TARGETS.settleSeconds}`,
      ),
      auditOk: check(audit.ok, 'true'),
    },
    audit: formatReport(audit),
  };
  const chartSvg = renderChartSvg({
    title:
      o.chartTitle ??
      `Burst: ${o.buyers.toLocaleString('en')} buyers at ${o.arrivalPerSec}/s for ${o.units.toLocaleString('en')} units (local stack)`,
    subtitle: [
      `open loop, connections opened ${o.connections}; buyers retry 429 RETRY after Retry-After with the same key (≤ ${o.maxTries} tries); every answer counted`,
      `p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, max ${figures.maxMs} ms · accepted ${accepted}, gave up ${gaveUp}, 5xx ${answers5xx} · settled ${settleSeconds ?? '—'} s after the last answer · audit ${audit.ok ? 'clean' : 'VIOLATIONS'}`,
    ],
    start: result.startedAt,
    points: timeline(result.samples, result.startedAt, 500, () => true),
    bucketSeconds: 0.5,
    stock: sampler.samples.filter(
      (s) => s.t >= result.startedAt - 500 && s.t <= (settled.at ?? result.endedAt) + 2000,
    ),
    totalStock: o.units,
    markers: [
      { at: result.endedAt, label: 'last answer' },
      ...(settled.at ? [{ at: settled.at, label: 'all orders terminal' }] : []),
    ],
    latencyTargetMs: BURST_TARGETS.p99Ms,
  });
  return { figures, chartSvg, result };
}

/** One line for the console and the bench summary. */
export function formatBurst(f: BurstFigures, label: string): string {
  const metK = (k: string) => met(f.targets[k]?.met);
  const arriving = f.closedLoop ? `${f.closedLoop} at a time (closed loop)` : `at ${f.arrivalPerSec}/s`;
  return `burst ${label} (${f.buyers} buyers ${arriving} for ${f.units} units, connections ${f.connections}): answers ${f.answers} (${Object.entries(
    f.answersByStatus,
  )
    .map(([k, v]) => `${k}: ${v}`)
    .join(
      ', ',
    )}); 5xx ${f.answers5xx} (${metK('answers5xx')}); p50 ${f.p50Ms} / p99 ${f.p99Ms} (${metK('p99Ms')}) / max ${f.maxMs} ms; accepted ${f.accepted} (${metK('accepted')}); gave up ${f.gaveUp} (${metK('gaveUp')}); settle ${f.settleSeconds ?? '—'} s (${metK('settleSeconds')}); audit ${f.auditOk ? 'clean' : 'VIOLATIONS'}`;
}
