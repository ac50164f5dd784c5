/**
 * Overhead of the stack: successful checkouts/s through HTTP → authorizer → handler, divided by
 * successful reservations/s of a bare client doing the same TransactWriteItems + SendMessage, on the
 * same emulators, at the same concurrency, in the same run.
 *
 * Both sides run in windows of equal length, ordered B S S B B S … so the emulator JVM's drift (it
 * keeps getting faster for a while) cancels out; the ratio is of the medians. The bare client runs
 * in this process — the process that hosts the runtime, fauxqs and therefore the handlers — and the
 * HTTP load generator in a child process, so each side's SDK work happens in the same event loop
 * and the generator's own cost is not charged to the server.
 */

import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createSale } from '../load/lib/api-calls.ts';
import { typedApi } from '../load/lib/api-client.ts';
import { type CpuShares, cpuMeter } from '../load/lib/cpu.ts';
import { withLocalStack } from '../load/lib/local-stack.ts';
import { median, type RequestSample, round } from '../load/lib/stats.ts';
import { latencySummary } from '../load/lib/summary.ts';
import { saleKey } from '../shared/adapters/dynamo/keys.ts';
import { runBare } from './bare.ts';
import { profileWindow, type WindowProfile } from './profile.ts';

export interface OverheadWindow {
  side: 'bare' | 'stack';
  perSec: number;
  ok: number;
  failed: number;
  p50Ms: number;
  seconds: number;
  cpu: CpuShares;
}

export interface OverheadResult {
  value: number;
  target: string;
  met: boolean;
  stackPerSec: number;
  barePerSec: number;
  concurrency: number;
  windowSeconds: number;
  warmupSeconds: number;
  shards: number;
  windows: OverheadWindow[];
  cpuMedian: { bare: CpuShares; stack: CpuShares };
  /** Ratio of each adjacent bare/stack pair of windows, and their median (a drift-robust cross-check). */
  pairRatios: number[];
  pairRatioMedian: number;
  /** One extra, profiled window per side (not in the ratio): the runtime process's CPU per checkout. */
  profile: { bare: WindowProfile; stack: WindowProfile; addedUsPerCheckout: number };
  method: string;
}

const medianShares = (list: CpuShares[]): CpuShares => {
  const keys = new Set(list.flatMap((x) => Object.keys(x)));
  return Object.fromEntries([...keys].map((k) => [k, Math.round(median(list.map((x) => x[k] ?? 0)))]));
};

export async function measureOverhead(
  o: { concurrency: number; windowSeconds: number; warmupSeconds: number; pairs: number },
  log: (line: string) => void,
): Promise<OverheadResult> {
  // Both sides only reserve and enqueue: nothing consumes the queue during the comparison.
  const runtimeOptions = { inMemory: true, consumers: false, reconcileIntervalSeconds: 0 };
  return withLocalStack('bench-overhead', runtimeOptions, async ({ runtime, db, generator, dataDir }) => {
    const admin = await runtime.issuer.sign('bench-admin', true);
    const shards = 8;
    const sale = await createSale(typedApi(runtime.url), admin, {
      saleId: 'bench-overhead',
      totalStock: 1_000_000,
      perUserLimit: 1000,
      shards,
    });
    const { Item } = await db.send(
      new GetCommand({ TableName: runtime.resources.tableNames.sales, Key: { pk: saleKey(sale.saleId) } }),
    );
    const holdSeconds = Number(Item?.holdSeconds ?? 600);
    const meter = cpuMeter({ generator: generator.pid }, 500);
    let round_ = 0;
    const windowMs = o.windowSeconds * 1000;

    const bare = async (ms: number): Promise<Omit<OverheadWindow, 'cpu'>> => {
      const r = await runBare({
        region: runtime.endpoints.region,
        endpoints: runtime.endpoints,
        tables: runtime.resources.tableNames,
        ordersQueueUrl: runtime.resources.queueUrls.orders,
        saleId: sale.saleId,
        shards,
        perUserLimit: sale.perUserLimit,
        price: sale.price,
        currency: sale.currency,
        holdSeconds,
        userPrefix: `bare-${++round_}`,
        buyers: 1_000_000,
        concurrency: o.concurrency,
        maxDurationMs: ms,
        maxAttempts: 8,
      });
      return summarize('bare', r.samples, r.startedAt, r.endedAt);
    };
    const stack = async (ms: number): Promise<Omit<OverheadWindow, 'cpu'>> => {
      const r = await generator.run(
        {
          url: runtime.url,
          saleId: sale.saleId,
          keyFile: join(dataDir, 'dev-issuer-key.json'),
          userPrefix: `stack-${++round_}`,
          // Tokens are minted before the window opens; enough for ~1,000 checkouts/s.
          buyers: Math.ceil((ms / 1000) * 1000),
          concurrency: o.concurrency,
          maxDurationMs: ms,
          requestTimeoutMs: 10_000,
        },
        ms + 120_000,
      );
      return summarize('stack', r.samples, r.startedAt, r.endedAt);
    };

    log(
      `  warming up (${o.warmupSeconds} s: DynamoDB Local's JVM speeds up for its first ~30 s of traffic)…`,
    );
    await bare((o.warmupSeconds * 1000) / 2);
    await stack((o.warmupSeconds * 1000) / 2);

    // B S, S B, B S, …: each side runs as often first as second.
    const order: ('bare' | 'stack')[] = [];
    for (let i = 0; i < o.pairs; i++) {
      if (i % 2 === 0) order.push('bare', 'stack');
      else order.push('stack', 'bare');
    }
    const windows: OverheadWindow[] = [];
    for (const side of order) {
      meter.mark();
      const w = side === 'bare' ? await bare(windowMs) : await stack(windowMs);
      // For the stack side this also covers the generator minting its tokens just before the window.
      const cpu = meter.mark();
      windows.push({ ...w, cpu });
      log(
        `  ${side.padEnd(5)} ${w.perSec.toFixed(0).padStart(5)} checkouts/s  p50 ${w.p50Ms} ms  (${w.ok} ok, ${w.failed} failed)`,
      );
    }
    meter.stop();
    log('  profiling one more window per side (not counted in the ratio)…');
    const bareProfile = await profileWindow(async () => (await bare(windowMs)).ok);
    const stackProfile = await profileWindow(async () => (await stack(windowMs)).ok);
    const pairRatios: number[] = [];
    for (let i = 0; i + 1 < windows.length; i += 2) {
      const a = windows[i] as OverheadWindow;
      const b = windows[i + 1] as OverheadWindow;
      const [s, bw] = a.side === 'stack' ? [a, b] : [b, a];
      pairRatios.push(round(s.perSec / bw.perSec, 3));
    }
    const per = (side: 'bare' | 'stack') => windows.filter((w) => w.side === side);
    const barePerSec = round(median(per('bare').map((w) => w.perSec)), 1);
    const stackPerSec = round(median(per('stack').map((w) => w.perSec)), 1);
    const value = round(stackPerSec / barePerSec, 3);
    return {
      value,
      target: '>= 0.85',
      met: value >= 0.85,
      stackPerSec,
      barePerSec,
      concurrency: o.concurrency,
      windowSeconds: o.windowSeconds,
      warmupSeconds: o.warmupSeconds,
      shards,
      windows,
      cpuMedian: {
        bare: medianShares(per('bare').map((w) => w.cpu)),
        stack: medianShares(per('stack').map((w) => w.cpu)),
      },
      pairRatios,
      pairRatioMedian: round(median(pairRatios), 3),
      profile: {
        bare: bareProfile,
        stack: stackProfile,
        addedUsPerCheckout: round(stackProfile.busyUsPerCheckout - bareProfile.busyUsPerCheckout, 0),
      },
      method:
        'successful reservations per second; bare = DynamoOrderStore.reserve + SqsOrderQueue.enqueueOrder in the runtime process; stack = keep-alive HTTP client in a child process → local runtime (authorizer, middleware, checkout); consumers off; one 8-shard sale with 1,000,000 units and a per-buyer limit of 1,000; a distinct buyer per checkout; windows interleaved B S S B B S; value = median stack ÷ median bare',
    };
  });
}

function summarize(
  side: 'bare' | 'stack',
  samples: RequestSample[],
  startedAt: number,
  endedAt: number,
): Omit<OverheadWindow, 'cpu'> {
  const ok = samples.filter((s) => s.status === 202);
  const seconds = Math.max(0.001, (endedAt - startedAt) / 1000);
  return {
    side,
    perSec: round(ok.length / seconds, 1),
    ok: ok.length,
    failed: samples.length - ok.length,
    p50Ms: latencySummary(ok.map((s) => s.ms)).p50Ms,
    seconds: round(seconds, 2),
  };
}
