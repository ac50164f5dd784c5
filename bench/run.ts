/**
 * `npm run bench` — a benchmark, not a test: measures, prints a summary, writes bench/results.json
 * and docs/drill-chart.svg. Every figure carries its target and whether this run met it.
 *
 *   coldStart      bundle bytes and import time per function of the wiring table
 *   overheadRatio  full local stack vs a bare client doing the same DynamoDB + SQS work
 *   drill          10,000 buyers for 1,000 units through the local stack, settled and audited
 *   capacity       what one sale could take on AWS against K and the transaction window: a discrete-event
 *                  model of the documented limits (also `npm run capacity`), assumptions printed
 *   burst          5,000 buyers arriving at 1,000/s (open loop, honouring Retry-After) for 1,000 units,
 *                  on the default on-disk runtime and again in memory
 *   pipeline       1,000 units sold in a burst on the default on-disk runtime, each charged by a
 *                  500 ms processor: how the payments keep up (docs/pipeline-chart.svg)
 *
 * Options: --only cold,overhead,drill,capacity,burst,pipeline   --drills N (default 3)   --quick (a short smoke
 * run, written to bench/results.quick.json, never over results.json). A partial run (--only) updates
 * only its own sections of results.json.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { numberOption, runMain, UsageError } from '../load/lib/args.ts';
import { cpuMeter } from '../load/lib/cpu.ts';
import { round } from '../load/lib/stats.ts';
import { check, fmtShares, met } from '../load/lib/summary.ts';
import { capacityModel, capacitySection, capacitySummary, formatCapacity } from './capacity/model.ts';
import { measureColdStart } from './cold-start.ts';
import type { OverheadResult } from './overhead.ts';
import {
  type BurstPart,
  type DrillPart,
  runBurstPart,
  runDrillPart,
  runOverheadPart,
  TARGETS,
} from './parts.ts';
import { type PipelinePart, runPipelinePart } from './pipeline.ts';

const ROOT = resolve(import.meta.dirname, '..');
const log = (line: string) => console.log(line);
const PART_TIMEOUT_MS = {
  overhead: 6 * 60_000,
  drill: 12 * 60_000,
  burst: 8 * 60_000,
  burstInMemory: 8 * 60_000,
  pipeline: 10 * 60_000,
};
type ChildPart = keyof typeof PART_TIMEOUT_MS;
const ALL_PARTS = ['cold', 'overhead', 'drill', 'capacity', 'burst', 'pipeline'];

/** Runs one runtime-hosting part in a child process (its own module cache) and reads its result. */
function inChild(part: ChildPart, quick: boolean, drills: number): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), `flash-bench-${part}-`));
  const out = join(dir, 'result.json');
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        '--part',
        part,
        '--out',
        out,
        '--drills',
        String(drills),
        ...(quick ? ['--quick'] : []),
      ],
      { cwd: ROOT, stdio: 'inherit', env: process.env },
    );
    const timer = setTimeout(() => {
      console.error(`bench part ${part} exceeded ${PART_TIMEOUT_MS[part] / 60_000} min; stopping it`);
      child.kill('SIGTERM');
    }, PART_TIMEOUT_MS[part]);
    child.on('error', fail);
    child.on('exit', (code) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`bench part ${part} exited ${code}`);
        done(JSON.parse(readFileSync(out, 'utf8')));
      } catch (error) {
        fail(error);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      only: { type: 'string' },
      drills: { type: 'string' },
      quick: { type: 'boolean', default: false },
      // Internal: run one runtime-hosting part in this (child) process, result to --out.
      part: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) {
    console.log(`npm run bench [-- --only ${ALL_PARTS.join(',')}] [--drills N] [--quick]`);
    return 0;
  }
  const quick = v.quick;
  const drills = numberOption('drills', v.drills, undefined, quick ? 1 : 3, {
    min: 1,
    max: 9,
    integer: true,
  }) as number;

  if (v.part) {
    if (!v.out) throw new UsageError('--part needs --out');
    const result =
      v.part === 'overhead'
        ? await runOverheadPart(quick)
        : v.part === 'drill'
          ? await runDrillPart(quick, drills)
          : v.part === 'burst' || v.part === 'burstInMemory'
            ? await runBurstPart(quick, v.part === 'burstInMemory')
            : v.part === 'pipeline'
              ? await runPipelinePart(quick)
              : undefined;
    if (result === undefined) throw new UsageError(`Unknown part ${v.part}`);
    writeFileSync(v.out, JSON.stringify(result));
    return 0;
  }

  const parts = new Set((v.only ?? ALL_PARTS.join(',')).split(',').map((p) => p.trim()));
  for (const p of parts) if (!ALL_PARTS.includes(p)) throw new UsageError(`Unknown part ${p}`);
  const started = Date.now();
  const results: Record<string, unknown> = {
    generatedAt: new Date().toISOString(),
    quick,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGb: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      loadAverageAtStart: loadavg().map((x) => round(x, 2)),
    },
    notes: [
      'Local figures come from DynamoDB Local (Java) and fauxqs on this machine: they measure the code and the emulators together, not AWS.',
      'cpu figures are percent of one core (200 = both cores of a 2-core machine); otherProcesses is everything else the machine ran meanwhile.',
    ],
  };
  const summary: string[] = [];
  let chartFile: string | undefined;

  // 1. Cold start: first, before any emulator runs.
  if (parts.has('cold')) {
    log('\n== coldStart: bundle bytes and import time per function ==');
    const out = mkdtempSync(join(tmpdir(), 'flash-bench-bundles-'));
    const meter = cpuMeter({}, 1000);
    let cold: Awaited<ReturnType<typeof measureColdStart>>;
    try {
      cold = await measureColdStart(out, quick ? 3 : 11, log);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    const otherCpu = meter.stop().average.otherProcesses ?? 0;
    const po = cold.functions.placeOrder;
    const bytesOk = (po?.bytes ?? Number.POSITIVE_INFINITY) <= TARGETS.placeOrderBytes;
    const importOk = (po?.importMs ?? Number.POSITIVE_INFINITY) <= TARGETS.placeOrderImportMs;
    results.coldStart = {
      ...cold,
      targets: {
        placeOrderBytes: check(bytesOk, `<= ${TARGETS.placeOrderBytes}`),
        placeOrderImportMs: check(importOk, `<= ${TARGETS.placeOrderImportMs}`),
      },
      // Includes the import processes themselves; other work on the machine inflates import times.
      cpuOfEverythingButThisProcess: otherCpu,
    };
    summary.push(
      `coldStart placeOrder: ${po?.bytes} bytes (≤ ${TARGETS.placeOrderBytes}: ${met(bytesOk)}), import ${po?.importMs} ms, median of ${cold.runsPerFunction} (≤ ${TARGETS.placeOrderImportMs}: ${met(importOk)})`,
      `  bundling: ${cold.options.source}; same checkout without Powertools Tracer/X-Ray: ${cold.placeOrderWithoutTracer.bytes} bytes, ${cold.placeOrderWithoutTracer.importMs} ms`,
      `  largest in the checkout bundle: ${cold.placeOrderComposition
        .slice(0, 6)
        .map((c) => `${c.module} ${Math.round(c.bytes / 1000)} KB`)
        .join(', ')}`,
    );
  }

  // 2. Overhead ratio (its own process: one local runtime per process).
  if (parts.has('overhead')) {
    const overhead = (await inChild('overhead', quick, drills)) as OverheadResult;
    results.overheadRatio = overhead;
    summary.push(
      `overheadRatio: ${overhead.value} = stack ${overhead.stackPerSec}/s ÷ bare ${overhead.barePerSec}/s at concurrency ${overhead.concurrency} (${overhead.target}: ${met(overhead.met)})`,
      `  cpu, median window (% of one core): bare ${fmtShares(overhead.cpuMedian.bare)} | stack ${fmtShares(overhead.cpuMedian.stack)}`,
      `  adjacent-pair ratios ${overhead.pairRatios.join(', ')} (median ${overhead.pairRatioMedian})`,
      `  runtime process CPU per checkout (V8 profile): bare ${overhead.profile.bare.busyUsPerCheckout} µs, stack ${overhead.profile.stack.busyUsPerCheckout} µs (+${overhead.profile.addedUsPerCheckout}); largest additions: ${topAdditions(overhead)}`,
    );
  }

  // 3. Drill (its own process too).
  if (parts.has('drill')) {
    const drill = (await inChild('drill', quick, drills)) as DrillPart;
    results.drill = drill.result;
    // The committed example chart only comes from a complete, full-size run.
    chartFile =
      parts.size === ALL_PARTS.length && !quick
        ? join(ROOT, 'docs', 'drill-chart.svg')
        : join(tmpdir(), 'flash-bench-drill-chart.svg');
    writeFileSync(chartFile, drill.chartSvg);
    summary.push(drill.summary);
  }

  // 4. Capacity (a model of AWS, not a measurement; the same as `npm run capacity`).
  if (parts.has('capacity')) {
    const capacity = capacityModel();
    results.capacity = capacitySection(capacity);
    log('\n== capacity: checkouts/s one sale could take on AWS (model) ==');
    log(formatCapacity(capacity));
    summary.push(capacitySummary(capacity));
  }

  // 5. Burst: open-loop arrivals on the default on-disk runtime, then in memory (each its own process).
  let burstChart: string | undefined;
  if (parts.has('burst')) {
    const onDisk = (await inChild('burst', quick, drills)) as BurstPart;
    const inMemory = (await inChild('burstInMemory', quick, drills)) as BurstPart;
    results.burst = { ...onDisk.figures, runtime: 'default on-disk npm start', inMemory: inMemory.figures };
    burstChart = quick
      ? join(tmpdir(), 'flash-bench-burst-chart.svg')
      : join(ROOT, 'docs', 'burst-chart.svg');
    writeFileSync(burstChart, onDisk.chartSvg);
    summary.push(onDisk.summary, inMemory.summary);
  }

  // 6. Pipeline: the burst again, each order charged by a 500 ms processor (its own process).
  let pipelineChart: string | undefined;
  if (parts.has('pipeline')) {
    const pipeline = (await inChild('pipeline', quick, drills)) as PipelinePart;
    results.pipeline = { ...pipeline.figures, runtime: 'default on-disk npm start' };
    pipelineChart = quick
      ? join(tmpdir(), 'flash-bench-pipeline-chart.svg')
      : join(ROOT, 'docs', 'pipeline-chart.svg');
    writeFileSync(pipelineChart, pipeline.chartSvg);
    summary.push(pipeline.summary);
  }

  results.elapsedSeconds = round((Date.now() - started) / 1000, 1);
  results.summary = summary;
  const complete = parts.size === ALL_PARTS.length;
  const file = join(ROOT, 'bench', quick ? 'results.quick.json' : 'results.json');
  // A partial run replaces only the sections it measured, and says when it did.
  const written = complete || !existsSync(file) ? results : mergePartial(file, results, parts);
  writeFileSync(file, `${JSON.stringify(written, null, 2)}\n`);
  log(
    `\n== summary (${results.elapsedSeconds} s) ==\n${summary.join('\n')}\n\nWrote ${file}${complete ? '' : ` (sections: ${[...parts].join(', ')})`}${chartFile ? `\nDrill chart: ${chartFile}` : ''}${burstChart ? `\nBurst chart: ${burstChart}` : ''}${pipelineChart ? `\nPipeline chart: ${pipelineChart}` : ''}`,
  );
  return 0;
}

/** The existing results with the sections of this partial run replaced. */
function mergePartial(
  file: string,
  results: Record<string, unknown>,
  parts: Set<string>,
): Record<string, unknown> {
  const previous = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const section: Record<string, string> = {
    cold: 'coldStart',
    overhead: 'overheadRatio',
    drill: 'drill',
    capacity: 'capacity',
    burst: 'burst',
    pipeline: 'pipeline',
  };
  const merged: Record<string, unknown> = { ...previous };
  const measuredAt = { ...((previous.sectionsMeasuredAt as Record<string, string> | undefined) ?? {}) };
  for (const part of parts) {
    const key = section[part] as string;
    merged[key] = results[key];
    measuredAt[key] = results.generatedAt as string;
  }
  merged.sectionsMeasuredAt = measuredAt;
  return merged;
}

/** What the stack adds per checkout in the runtime process, by owner, largest first. */
function topAdditions(o: OverheadResult): string {
  const bare = o.profile.bare.usPerCheckout;
  return Object.entries(o.profile.stack.usPerCheckout)
    .map(([k, us]) => [k, us - (bare[k] ?? 0)] as const)
    .filter(([, d]) => d > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([k, d]) => `${k} +${d}`)
    .join(', ');
}

runMain(main);
