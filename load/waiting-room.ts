/**
 * `npm run load -- --waiting-room` — the waiting-room drill (README "Waiting room"): a crowd for a
 * sale with a room, a share of it joining before the start, on the local runtime in this process,
 * the crowd in the load generator's (load/lib/room-crowd.ts).
 *
 * Proves: no 5xx; every buyer ends with an order, SOLD_OUT or a clean refusal; units sold = stock;
 * no checkout without admission (a share of buyers try one first and must get 403, and every order
 * belongs to an admitted buyer); the audit is clean; and measures fairness among pre-start joiners
 * as Spearman's ρ between join time and success (expected ≈ 0: the lottery ignores arrival time).
 *
 * Writes load/reports/waiting-room-<time>/report.json; `--bench` also stores it as the `waitingRoom`
 * section of bench/results.json. Exit 0 when every target holds.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { startRuntime } from '../local/runtime/index.ts';
import { documentClient } from '../shared/adapters/dynamo/client.ts';
import { auditSale } from '../shared/audit/invariants.ts';
import { createSale } from './lib/api-calls.ts';
import { typedApi } from './lib/api-client.ts';
import { numberOption, parseFlags, runMain, UsageError } from './lib/args.ts';
import { ClientProcess } from './lib/generator-process.ts';
import type { BuyerRecord, RoomPolling } from './lib/room-buyer.ts';
import { summarizeRoomDrill } from './lib/room-summary.ts';
import { round } from './lib/stats.ts';

const HELP = `npm run load -- --waiting-room [options]
  --buyers N          virtual buyers (default 10000)
  --units N           stock, one unit per buyer (default 1000)
  --pre-share R       share of buyers who join before the start (default 0.333)
  --pre-seconds S     the room is open S seconds before the start; pre-start joins spread over it (default 20)
  --post-seconds S    post-start joins spread over S seconds after the start (default 20)
  --admit-rate N      waitingRoom.admitPerSecond (default 100)
  --token-seconds S   admission token life (default 60)
  --cheat-share R     buyers who first try to check out without admission (default 0.02)
  --polling M         page (each buyer polls on its own timer as the buyer page does, its own
                      connection, no cap on requests in flight; default) or capped (the crowd
                      shares --max-in-flight requests and backs off exponentially)
  --max-in-flight N   with --polling capped: requests open at once across all buyers (default 64)
  --deadline S        a buyer still without an outcome after S seconds gives up (default 240)
  --bench             store the result as bench/results.json's waitingRoom section`;

async function main(): Promise<number> {
  const v = parseFlags(
    process.argv.slice(2).filter((a) => a !== '--waiting-room'),
    HELP,
    [
      'buyers',
      'units',
      'pre-share',
      'pre-seconds',
      'post-seconds',
      'admit-rate',
      'token-seconds',
      'cheat-share',
      'deadline',
      'max-in-flight',
      'polling',
    ],
    ['bench'],
  );
  if (!v) return 0;
  const num = (
    name: Exclude<keyof typeof v, 'bench'>,
    fallback: number,
    min: number,
    max: number,
    integer = true,
  ) => numberOption(name, v[name], undefined, fallback, { min, max, integer }) as number;
  const s = {
    buyers: num('buyers', 10_000, 1, 200_000),
    units: num('units', 1_000, 1, 1_000_000),
    preShare: num('pre-share', 1 / 3, 0, 1, false),
    preSeconds: num('pre-seconds', 20, 2, 3_600),
    postSeconds: num('post-seconds', 20, 1, 3_600),
    admitRate: num('admit-rate', 100, 1, 100_000),
    tokenSeconds: num('token-seconds', 60, 10, 3_600),
    cheatShare: num('cheat-share', 0.02, 0, 1, false),
    deadlineSeconds: num('deadline', 240, 10, 7_200),
    maxInFlight: num('max-in-flight', 64, 1, 10_000),
    polling: (v.polling ?? 'page') as RoomPolling,
  };
  if (s.polling !== 'page' && s.polling !== 'capped')
    throw new UsageError(`--polling takes page or capped, got "${s.polling}"`);
  if (s.units > s.buyers)
    throw new UsageError('--units must not exceed --buyers: the drill is about a crowd');

  const root = resolve(import.meta.dirname, '..');
  const dataDir = mkdtempSync(join(tmpdir(), 'flash-room-drill-'));
  console.log(
    `waiting-room drill: ${s.buyers} buyers (${round(s.preShare * 100)}% before the start) for ${s.units} units, admitting ${s.admitRate}/s`,
  );
  const runtime = await startRuntime({
    port: 0,
    dataDir,
    inMemory: true,
    consumers: true,
    reconcileIntervalSeconds: 5,
    env: { POWERTOOLS_LOG_LEVEL: 'ERROR' },
  });
  const generator = new ClientProcess();
  try {
    const admin = await runtime.issuer.sign('drill-admin', true);
    // Tokens first: signing thousands takes seconds, which must not eat into the open room.
    const tokens: string[] = [];
    for (let i = 0; i < s.buyers; i++) tokens.push(await runtime.issuer.sign(`rb-${i}`, false));
    const saleId = `room-${Date.now()}`;
    const opensAt = Date.now();
    const startsAt = opensAt + s.preSeconds * 1000;
    await createSale(typedApi(runtime.url), admin, {
      saleId,
      name: 'Waiting-room drill',
      totalStock: s.units,
      perUserLimit: 1,
      startsAt: new Date(startsAt).toISOString(),
      endsAt: new Date(startsAt + 6 * 3600_000).toISOString(),
      waitingRoom: {
        admitPerSecond: s.admitRate,
        opensAt: new Date(opensAt).toISOString(),
        tokenSeconds: s.tokenSeconds,
      },
    });

    const preCount = Math.round(s.buyers * s.preShare);
    const buyers: BuyerRecord[] = [];
    const plans: { token: string; joinAt: number; cheat: boolean }[] = [];
    for (let i = 0; i < s.buyers; i++) {
      const pre = i < preCount;
      const userId = `rb-${i}`;
      buyers.push({ userId, group: pre ? 'preStart' : 'postStart', admitted: false });
      plans.push({
        token: tokens[i] as string,
        // Pre-start joiners spread over the open room, leaving a margin before the start.
        joinAt: pre
          ? opensAt + 500 + Math.random() * (s.preSeconds * 1000 - 2_500)
          : startsAt + Math.random() * s.postSeconds * 1000,
        cheat: Math.random() < s.cheatShare,
      });
    }
    const deadline = startsAt + s.postSeconds * 1000 + s.deadlineSeconds * 1000;
    const crowd = await generator.room(
      {
        url: runtime.url,
        saleId,
        buyers,
        plans,
        startsAt,
        deadline,
        polling: s.polling,
        maxInFlight: s.maxInFlight,
      },
      deadline - Date.now() + 120_000,
    );
    const buyersDoneAt = crowd.doneAt;

    // Let the pipeline settle every order, then audit.
    const db = documentClient({
      region: runtime.endpoints.region,
      endpoints: { dynamodb: runtime.endpoints.dynamodb },
    });
    let audit = await auditSale(db, runtime.resources.tableNames, saleId);
    for (let waited = 0; waited < 120 && audit.stock.held > 0; waited++) {
      await new Promise((r) => setTimeout(r, 1_000));
      audit = await auditSale(db, runtime.resources.tableNames, saleId);
    }
    db.destroy();

    const result = summarizeRoomDrill(
      s,
      crowd.buyers,
      crowd.tally,
      audit,
      { startsAt, buyersDoneAt },
      runtime,
    );
    const dir = join(
      root,
      'load',
      'reports',
      `waiting-room-${new Date().toISOString().replace(/[:.]/g, '-')}`,
    );
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'report.json'), JSON.stringify({ ...result, audit }, null, 2));
    if (v.bench) {
      const file = join(root, 'bench', 'results.json');
      const bench = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      bench.waitingRoom = { measuredAt: new Date().toISOString(), ...result };
      writeFileSync(file, `${JSON.stringify(bench, null, 2)}\n`);
    }
    console.log(JSON.stringify(result, null, 2));
    console.log(`report: ${relative(process.cwd(), join(dir, 'report.json'))}`);
    return result.targets.allHold ? 0 : 1;
  } finally {
    generator.stop();
    await runtime.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runMain(main);
