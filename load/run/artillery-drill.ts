/**
 * The drill itself: load/flash-sale.yml run by Artillery against the sale, with the processor
 * (load/processor.ts) bundled first, the arrival phase and p99 bound from the settings, and CPU
 * sampled per process while it runs.
 */
import { join } from 'node:path';
import { type ArtilleryRun, bundleProcessor, runArtillery } from '../lib/artillery.ts';
import { type CpuShares, cpuMeter } from '../lib/cpu.ts';
import type { phaseOf, Settings } from './settings.ts';

/** Where a run keeps its files (load/reports/<run>/). */
export interface RunFiles {
  dir: string;
  events: string;
  orders: string;
  tokens: string;
  artilleryJson: string;
  artilleryLog: string;
  report: string;
  chart: string;
  html: string;
}

export function runFiles(dir: string): RunFiles {
  return {
    dir,
    events: join(dir, 'events.jsonl'),
    orders: join(dir, 'orders.txt'),
    tokens: join(dir, 'tokens.csv'),
    artilleryJson: join(dir, 'artillery.json'),
    artilleryLog: join(dir, 'artillery.log'),
    report: join(dir, 'report.json'),
    chart: join(dir, 'chart.svg'),
    html: join(dir, 'report.html'),
  };
}

export async function runArtilleryDrill(o: {
  root: string;
  baseUrl: string;
  local: boolean;
  runId: string;
  saleId: string;
  tokensFile: string;
  phase: ReturnType<typeof phaseOf>;
  s: Settings;
  files: RunFiles;
}): Promise<{ art: ArtilleryRun; cpu: { average: CpuShares; series: { t: number; shares: CpuShares }[] } }> {
  const { s, phase, files } = o;
  const processor = await bundleProcessor(join(o.root, 'load', 'processor.ts'), join(o.root, 'load', 'dist'));
  const meter = cpuMeter({}, 1000, o.local ? 'runtime' : 'loadRunner');
  const art = await runArtillery({
    script: join(o.root, 'load', 'flash-sale.yml'),
    target: o.baseUrl,
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
      LOAD_SALE_ID: o.saleId,
      LOAD_TOKENS_FILE: o.tokensFile,
      LOAD_RUN_ID: o.runId,
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
  return { art, cpu: meter.stop() };
}
