import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type BurstFigures, formatBurst, runBurstDrill } from '../load/lib/burst-drill.ts';
import { renderChartSvg } from '../load/lib/chart.ts';
import { cpuMeter } from '../load/lib/cpu.ts';
import { withLocalStack } from '../load/lib/local-stack.ts';
import { median, round, timeline } from '../load/lib/stats.ts';
import { check, fmtShares, met } from '../load/lib/summary.ts';
import { warmUp } from '../load/lib/warm-up.ts';
import { type DrillOutcome, runDrill } from './drill.ts';
import { measureOverhead, type OverheadResult } from './overhead.ts';

export const TARGETS = {
  overheadRatio: 0.85,
  drillErrors: 0,
  drillP99Ms: 250,
  drillSettleSeconds: 15,
  placeOrderBytes: 600_000,
  placeOrderImportMs: 60,
};

const log = (line: string) => console.log(line);

export function runOverheadPart(quick: boolean): Promise<OverheadResult> {
  log('\n== overheadRatio: full local stack vs bare client (same emulators, same concurrency) ==');
  return measureOverhead(
    quick
      ? { concurrency: 32, windowSeconds: 3, warmupSeconds: 6, pairs: 1 }
      : { concurrency: 32, windowSeconds: 8, warmupSeconds: 40, pairs: 3 },
    log,
  );
}

export interface DrillPart {
  result: Record<string, unknown>;
  chartSvg: string;
  summary: string;
}

export async function runDrillPart(quick: boolean, drills: number): Promise<DrillPart> {
  const buyers = quick ? 2000 : 10_000;
  const units = quick ? 200 : 1000;
  const concurrency = 32;
  log(`\n== drill: ${buyers} buyers for ${units} units, ${drills} run(s), concurrency ${concurrency} ==`);
  return withLocalStack('bench-drill', { inMemory: true, reconcileIntervalSeconds: 5 }, async (stack) => {
    const { generator } = stack;
    const meter = cpuMeter({ generator: generator.pid }, 500);
    const runs: DrillOutcome[] = [];
    try {
      log(`  warming up ${quick ? 8 : 20} s on a separate sale, then waiting for its orders to settle…`);
      const warm = await warmUp(stack, { seconds: quick ? 8 : 20, concurrency, tag: 'bench' });
      log(`  warm-up: ${warm.checkouts} checkouts, settled ${warm.drainSeconds ?? 'NOT'} s after`);
      for (let i = 1; i <= drills; i++) {
        const run = await runDrill(stack, () => meter.samples(), {
          buyers,
          units,
          concurrency,
          perUserLimit: 2,
          settleTimeoutMs: 120_000,
          tag: `bench-drill-${i}`,
        });
        runs.push(run);
        log(
          `  run ${i}: ${run.accepted} accepted, ${run.soldOut} sold out, ${run.errors} errors; ${run.throughputPerSec}/s; p50 ${run.p50Ms} p95 ${run.p95Ms} p99 ${run.p99Ms} ms; settle ${run.settleSeconds} s; audit ${run.auditOk ? 'clean' : 'VIOLATIONS'}`,
        );
        log(
          `         selling ${run.phases.selling.seconds} s at ${run.phases.selling.perSec}/s (p99 ${run.phases.selling.p99Ms} ms, cpu ${fmtShares(run.phases.selling.cpu)}); sold out ${run.phases.soldOut.seconds} s at ${run.phases.soldOut.perSec}/s (p99 ${run.phases.soldOut.p99Ms} ms, cpu ${fmtShares(run.phases.soldOut.cpu)})`,
        );
      }
      const m = (f: (r: DrillOutcome) => number) => round(median(runs.map(f)), 1);
      const settle = runs.every((r) => r.settleSeconds !== null) ? m((r) => r.settleSeconds as number) : null;
      const drill = {
        buyers,
        units,
        concurrency,
        runs: runs.length,
        aggregation:
          'median over runs for every figure; errors is the total over all runs; auditOk only if every run audited clean',
        accepted: m((r) => r.accepted),
        soldOut: m((r) => r.soldOut),
        errors: runs.reduce((a, r) => a + r.errors, 0),
        throughputPerSec: m((r) => r.throughputPerSec),
        p50Ms: m((r) => r.p50Ms),
        p95Ms: m((r) => r.p95Ms),
        p99Ms: m((r) => r.p99Ms),
        settleSeconds: settle,
        auditOk: runs.every((r) => r.auditOk),
        unitsSold: m((r) => r.unitsSold),
        targets: {
          errors: check(
            runs.every((r) => r.errors === 0),
            '= 0',
          ),
          p99Ms: check(m((r) => r.p99Ms) <= TARGETS.drillP99Ms, `<= ${TARGETS.drillP99Ms}`),
          settleSeconds: check(
            settle !== null && settle <= TARGETS.drillSettleSeconds,
            `<= ${TARGETS.drillSettleSeconds}`,
          ),
          auditOk: check(
            runs.every((r) => r.auditOk),
            'true',
          ),
          unitsSold: check(
            runs.every((r) => r.unitsSold === units),
            `= ${units}`,
          ),
        },
        setup: {
          generator: `keep-alive HTTP client in a child process, ${concurrency} concurrent buyers (closed loop), one checkout per buyer, distinct users and tokens`,
          runtime:
            'startRuntime: in-memory DynamoDB Local + fauxqs, consumers on (4 pollers each), reconciler every 5 s, payments tok_ok (no declines)',
          warmup: {
            ...warm,
            note: 'on a separate sale before the first run; its orders settled before the drill began',
          },
          perUserLimit: 2,
        },
        perRun: runs.map((r) => ({
          saleId: r.saleId,
          accepted: r.accepted,
          soldOut: r.soldOut,
          errors: r.errors,
          otherOutcomes: r.otherOutcomes,
          throughputPerSec: r.throughputPerSec,
          p50Ms: r.p50Ms,
          p95Ms: r.p95Ms,
          p99Ms: r.p99Ms,
          maxMs: r.maxMs,
          durationSeconds: r.durationSeconds,
          settleSeconds: r.settleSeconds,
          auditOk: r.auditOk,
          unitsSold: r.unitsSold,
          cpu: r.cpu,
          phases: r.phases,
          audit: r.auditText,
        })),
      };
      // The chart of the run with the median p99.
      const chartRun = [...runs].sort((a, b) => a.p99Ms - b.p99Ms)[
        Math.floor((runs.length - 1) / 2)
      ] as DrillOutcome;
      const svg = renderChartSvg({
        title: `Drill: ${buyers.toLocaleString('en')} buyers for ${units.toLocaleString('en')} units (local stack)`,
        subtitle: [
          `${concurrency} concurrent buyers, keep-alive; DynamoDB Local + fauxqs on ${cpus().length} cores; consumers on, declines off`,
          `this run: p50 ${chartRun.p50Ms} ms, p99 ${chartRun.p99Ms} ms, ${chartRun.throughputPerSec} req/s, settled ${chartRun.settleSeconds} s after the last request, audit ${chartRun.auditOk ? 'clean' : 'VIOLATIONS'}`,
        ],
        start: chartRun.startedAt,
        points: timeline(chartRun.samples, chartRun.startedAt, 500),
        bucketSeconds: 0.5,
        stock: chartRun.stock.filter(
          (s) =>
            s.t >= chartRun.startedAt - 500 && s.t <= (chartRun.settledAt ?? chartRun.lastRequestAt) + 2000,
        ),
        totalStock: units,
        markers: [
          { at: chartRun.lastRequestAt, label: 'last request' },
          ...(chartRun.settledAt ? [{ at: chartRun.settledAt, label: 'all orders terminal' }] : []),
        ],
        latencyTargetMs: TARGETS.drillP99Ms,
      });
      return {
        result: drill,
        chartSvg: svg,
        summary: `drill (${buyers} buyers / ${units} units, median of ${runs.length}): accepted ${drill.accepted}, soldOut ${drill.soldOut}, errors ${drill.errors} (${met(drill.targets.errors.met)}), ${drill.throughputPerSec} req/s, p50 ${drill.p50Ms} / p95 ${drill.p95Ms} / p99 ${drill.p99Ms} ms (p99 ≤ ${TARGETS.drillP99Ms}: ${met(drill.targets.p99Ms.met)}), settle ${drill.settleSeconds} s (≤ ${TARGETS.drillSettleSeconds}: ${met(drill.targets.settleSeconds.met)}), audit ${drill.auditOk ? 'clean' : 'VIOLATIONS'} (${met(drill.targets.auditOk.met)}), sold ${drill.unitsSold}/${units} (${met(drill.targets.unitsSold.met)})`,
      };
    } finally {
      meter.stop();
    }
  });
}

export interface BurstPart {
  figures: BurstFigures;
  chartSvg: string;
  summary: string;
}

/**
 * The burst: 5,000 buyers arriving at 1,000/s for 1,000 units, open loop, each honouring Retry-After
 * with the same key (at most 8 tries), on a runtime started with npm start's defaults (on disk,
 * its default limits and reconciler) or in memory. A 15 s warm-up on another sale first.
 */
export async function runBurstPart(quick: boolean, inMemory: boolean): Promise<BurstPart> {
  const o = quick
    ? { buyers: 1000, units: 200, arrivalPerSec: 1000, warmupSeconds: 5 }
    : { buyers: 5000, units: 1000, arrivalPerSec: 1000, warmupSeconds: 15 };
  const label = inMemory ? 'in memory' : 'on disk';
  log(`\n== burst (${label}): ${o.buyers} buyers at ${o.arrivalPerSec}/s for ${o.units} units ==`);
  return withLocalStack('bench-burst', { inMemory }, async (stack) => {
    const meter = cpuMeter({ generator: stack.generator.pid }, 1000);
    // How late the runtime's event loop ran (HTTP, authorizer, handlers and fauxqs share it).
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    try {
      const { figures, chartSvg } = await runBurstDrill(stack, {
        ...o,
        // Real clients open a connection each as they arrive: what the bench reports.
        connections: 'on-arrival',
        maxTries: 8,
        settleTimeoutMs: 120_000,
        tag: `bench-burst-${inMemory ? 'mem' : 'disk'}`,
      });
      const cpu = meter.stop().average;
      loopDelay.disable();
      const ms = (ns: number) => round(ns / 1e6, 1);
      const eventLoopDelayMs = {
        p50: ms(loopDelay.percentile(50)),
        p99: ms(loopDelay.percentile(99)),
        max: ms(loopDelay.max),
      };
      const machine = { loadAverageAfter: loadavg().map((x) => round(x, 2)) };
      const summary = `${formatBurst(figures, label)}\n  cpu (% of one core): ${fmtShares(cpu)}; runtime event-loop delay p50 ${eventLoopDelayMs.p50} / p99 ${eventLoopDelayMs.p99} / max ${eventLoopDelayMs.max} ms; load average ${machine.loadAverageAfter.join(' ')}`;
      log(summary);
      return { figures: { ...figures, cpu, eventLoopDelayMs, machine } as BurstFigures, chartSvg, summary };
    } finally {
      loopDelay.disable();
      meter.stop();
    }
  });
}
