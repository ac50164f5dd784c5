import { loadavg } from 'node:os';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type BurstFigures, runBurstDrill } from '../load/lib/burst-drill.ts';
import { cpuMeter } from '../load/lib/cpu.ts';
import { withLocalStack } from '../load/lib/local-stack.ts';
import { round } from '../load/lib/stats.ts';
import { check, met, type TargetCheck } from '../load/lib/summary.ts';
import { functions } from '../shared/wiring.ts';

export const PIPELINE_TARGETS = { settleSeconds: 30, expired: 0 };
const PAYMENT_LATENCY_MS = 500;

export interface PipelineFigures {
  units: number;
  paymentLatencyMs: number;
  chargesInFlightMax: number;
  chargesPerSecond: number;
  settleSeconds: number | null;
  expired: number;
  auditOk: boolean;
  buyers: number;
  accepted: number;
  charges: number;
  paymentPollers: number;
  targets: Record<string, TargetCheck>;
  burst: Pick<BurstFigures, 'answers5xx' | 'p99Ms' | 'gaveUp' | 'answersByStatus' | 'audit'>;
  cpu: Record<string, number>;
  machine: { loadAverageAfter: number[] };
}

export interface PipelinePart {
  figures: PipelineFigures;
  chartSvg: string;
  summary: string;
}

/** Every charge's [sent, settled] interval, from the sale's orders. */
async function chargeIntervals(
  db: DynamoDBDocumentClient,
  ordersTable: string,
  saleId: string,
): Promise<{ intervals: [number, number][]; expired: number }> {
  const intervals: [number, number][] = [];
  let expired = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: ordersTable,
        FilterExpression: 'saleId = :s',
        ExpressionAttributeValues: { ':s': saleId },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      if (item.status === 'EXPIRED') expired++;
      if (typeof item.paymentStartedAt === 'string' && ['CONFIRMED', 'PAYMENT_FAILED'].includes(item.status))
        intervals.push([Date.parse(item.paymentStartedAt), Date.parse(String(item.updatedAt))]);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return { intervals, expired };
}

/** The most intervals open at one instant (a sweep over starts and ends). */
export function maxOverlap(intervals: readonly [number, number][]): number {
  const edges = intervals.flatMap(([from, to]) => [
    [from, 1],
    [to, -1],
  ]);
  edges.sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number));
  let open = 0;
  let most = 0;
  for (const [, delta] of edges) {
    open += delta as number;
    most = Math.max(most, open);
  }
  return most;
}

export async function runPipelinePart(quick: boolean): Promise<PipelinePart> {
  const o = quick
    ? { buyers: 400, units: 200, arrivalPerSec: 1000, warmupSeconds: 2 }
    : { buyers: 2000, units: 1000, arrivalPerSec: 1000, warmupSeconds: 5 };
  // As many payment pollers as the wiring's payment consumers (the event source's maximum concurrency).
  const paymentPollers = functions.processPayment.consumes.maxConcurrency;
  console.log(
    `\n== pipeline: ${o.units} units sold in a burst (${o.buyers} buyers at ${o.arrivalPerSec}/s), processor ${PAYMENT_LATENCY_MS} ms ==`,
  );
  const runtimeOptions = {
    inMemory: false,
    pollersPerConsumer: paymentPollers,
    env: { PAYMENT_LATENCY_MS: String(PAYMENT_LATENCY_MS) },
  };
  return withLocalStack('bench-pipeline', runtimeOptions, async (stack) => {
    const { runtime, db } = stack;
    const meter = cpuMeter({ generator: stack.generator.pid }, 1000);
    try {
      const tag = 'bench-pipeline';
      const { figures: burst, chartSvg } = await runBurstDrill(stack, {
        ...o,
        maxTries: 8,
        connections: 'on-arrival',
        settleTimeoutMs: 180_000,
        tag,
        chartTitle: `Pipeline: ${o.units.toLocaleString('en')} units sold in a burst, each charged by a ${PAYMENT_LATENCY_MS} ms processor (local stack, on disk)`,
      });
      const cpu = meter.stop().average;
      const { intervals, expired } = await chargeIntervals(db, runtime.resources.tableNames.orders, tag);
      const first = Math.min(...intervals.map(([from]) => from));
      const last = Math.max(...intervals.map(([, to]) => to));
      const chargesPerSecond =
        intervals.length > 0 ? round(intervals.length / ((last - first) / 1000), 1) : 0;
      const settleSeconds = burst.settleSeconds;
      const figures: PipelineFigures = {
        units: o.units,
        paymentLatencyMs: PAYMENT_LATENCY_MS,
        chargesInFlightMax: maxOverlap(intervals),
        chargesPerSecond,
        settleSeconds,
        expired,
        auditOk: burst.auditOk,
        buyers: o.buyers,
        accepted: burst.accepted,
        charges: intervals.length,
        paymentPollers,
        targets: {
          settleSeconds: check(
            settleSeconds !== null && settleSeconds <= PIPELINE_TARGETS.settleSeconds,
            `<= ${PIPELINE_TARGETS.settleSeconds}`,
          ),
          expired: check(expired === PIPELINE_TARGETS.expired, `= ${PIPELINE_TARGETS.expired}`),
          auditOk: check(burst.auditOk, 'true'),
        },
        burst: {
          answers5xx: burst.answers5xx,
          p99Ms: burst.p99Ms,
          gaveUp: burst.gaveUp,
          answersByStatus: burst.answersByStatus,
          audit: burst.audit,
        },
        cpu,
        machine: { loadAverageAfter: loadavg().map((x) => round(x, 2)) },
      };
      const summary = formatPipeline(figures);
      console.log(summary);
      return { figures, chartSvg, summary };
    } finally {
      meter.stop();
    }
  });
}

export function formatPipeline(f: PipelineFigures): string {
  const metK = (k: string) => met(f.targets[k]?.met);
  return `pipeline (${f.units} units, processor ${f.paymentLatencyMs} ms, ${f.paymentPollers} payment pollers × 10 concurrent records): ${f.charges} charges at ${f.chargesPerSecond}/s, at most ${f.chargesInFlightMax} in flight; settle ${f.settleSeconds ?? '—'} s (${metK('settleSeconds')}); expired ${f.expired} (${metK('expired')}); audit ${f.auditOk ? 'clean' : 'VIOLATIONS'} (${metK('auditOk')}); load average ${f.machine.loadAverageAfter.join(' ')}`;
}
