/**
 * `npm run load -- --burst`: the flash crowd as it arrives, open loop. Starts the local runtime as
 * `npm start` would (on disk unless --in-memory, its default limits unless overridden), runs the
 * burst drill (load/lib/burst-drill.ts) and writes load/reports/<run>/ (report.json, chart.svg).
 * Exit 0 when every target holds. See docs/LOAD.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { formatLimits, parseConcurrency, parseThrottle } from '../local/runtime/limits.ts';
import { numberOption, parseFlags } from './lib/args.ts';
import type { BurstConnections } from './lib/burst.ts';
import { formatBurst, runBurstDrill } from './lib/burst-drill.ts';
import { withLocalStack } from './lib/local-stack.ts';

export const BURST_HELP = `npm run load -- --burst [options]   (open-loop burst against a local runtime)
  --buyers N           buyers (default 5000)
  --units N            stock (default 1000)
  --rate N             arrivals per second, whatever the answers (default 1000)
  --closed-loop N      instead of --rate: N buyers at a time, each arriving when one before it has
                       its final answer (a closed loop; each still on its own connection)
  --max-tries N        tries per buyer; 429 RETRY is retried after Retry-After, same key (default 8)
  --connections M      on-arrival (each buyer opens its connection when it arrives, as browsers and
                       Artillery do; default) or before-clock (all opened before the first arrival)
  --warmup S           closed-loop warm-up on a separate sale first (default 15; 0 = none)
  --in-memory          DynamoDB Local in memory (default: on disk, as npm start)
  --concurrency fn=N,… / --throttle stage=rate/burst,fn=rate/burst   local limits, as npm start`;

export async function burstMain(argv: string[]): Promise<number> {
  const v = parseFlags(
    argv.filter((a) => a !== '--burst'),
    BURST_HELP,
    [
      'buyers',
      'units',
      'rate',
      'closed-loop',
      'max-tries',
      'warmup',
      'connections',
      'concurrency',
      'throttle',
    ],
    ['in-memory'],
  );
  if (!v) return 0;
  const n = (name: string, value: string | undefined, fallback: number, min: number, max: number) =>
    numberOption(name, value, undefined, fallback, { min, max, integer: true }) as number;
  const connections = v.connections ?? 'on-arrival';
  if (connections !== 'on-arrival' && connections !== 'before-clock') {
    console.error(`--connections takes on-arrival or before-clock, got "${connections}"`);
    return 2;
  }
  const options = {
    connections: connections as BurstConnections,
    buyers: n('buyers', v.buyers, 5000, 1, 100_000),
    units: n('units', v.units, 1000, 1, 1_000_000),
    arrivalPerSec: n('rate', v.rate, 1000, 1, 20_000),
    ...(v['closed-loop'] ? { closedLoop: n('closed-loop', v['closed-loop'], 64, 1, 10_000) } : {}),
    maxTries: n('max-tries', v['max-tries'], 8, 1, 50),
    warmupSeconds: n('warmup', v.warmup, 15, 0, 300),
  };
  const runId = `burst-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`;
  const dir = join(resolve(import.meta.dirname, '..'), 'load', 'reports', runId);
  mkdirSync(dir, { recursive: true });
  console.log(`Starting the local runtime (${v['in-memory'] ? 'in memory' : 'on disk'})…`);
  const runtimeOptions = {
    inMemory: v['in-memory'],
    ...(v.concurrency ? { concurrency: parseConcurrency(v.concurrency) } : {}),
    ...(v.throttle ? { throttle: parseThrottle(v.throttle) } : {}),
  };
  return withLocalStack('burst', runtimeOptions, async (stack) => {
    console.log(formatLimits(stack.runtime.limits));
    const { figures, chartSvg } = await runBurstDrill(stack, {
      ...options,
      settleTimeoutMs: 120_000,
      tag: runId.replace(/[^A-Za-z0-9]/g, '').slice(-20),
    });
    writeFileSync(join(dir, 'report.json'), `${JSON.stringify(figures, null, 2)}\n`);
    writeFileSync(join(dir, 'chart.svg'), chartSvg);
    console.log(`\n${formatBurst(figures, v['in-memory'] ? 'in memory' : 'on disk')}\n${figures.audit}`);
    console.log(
      `\nReport: ${relative(process.cwd(), join(dir, 'report.json'))} (chart: chart.svg beside it)`,
    );
    return Object.values(figures.targets).every((t) => t.met) ? 0 : 1;
  });
}
