/**
 * `npm run load` — a flash-sale drill with Artillery, then proof that the books balance.
 *
 * Local (default): starts the whole system in this process (DynamoDB Local, fauxqs, HTTP server,
 * consumers, reconciler), creates a sale through the admin route, mints one token per buyer through
 * `POST /dev/tokens`, warms the emulator up on a separate sale, runs load/flash-sale.yml, waits for
 * every order to be terminal, audits the sale and writes a report with a chart to load/reports/.
 *
 * Deployed: `--target URL --tokens FILE [--sale ID | --admin-token T]`; with SALES_TABLE,
 * ORDERS_TABLE, PAYMENTS_TABLE (and AWS credentials) it also waits and audits.
 *
 * `--burst` and `--waiting-room` run the other drills (load/burst.ts, load/waiting-room.ts).
 * Exit status: 0 when Artillery's checks pass, every order settled and the audit is clean; 1 otherwise.
 * See docs/LOAD.md.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { burstMain } from '../burst.ts';
import { runMain } from '../lib/args.ts';
import { ClientProcess } from '../lib/generator-process.ts';
import { warmUp } from '../lib/warm-up.ts';
import { runArtilleryDrill, runFiles } from './artillery-drill.ts';
import { acceptedOrders, writeReport } from './report.ts';
import { drillBuyers, drillSale } from './sale.ts';
import { settingsFrom } from './settings.ts';
import { sampleSale, settleAndAudit } from './settle.ts';
import { openTarget } from './target.ts';

async function main(): Promise<number> {
  const s = settingsFrom(process.argv.slice(2));
  if (!s) return 0;
  const local = !s.target;
  const runId = `${local ? 'local' : 'remote'}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`;
  const root = resolve(import.meta.dirname, '..', '..');
  const files = runFiles(join(root, 'load', 'reports', runId));
  mkdirSync(files.dir, { recursive: true });
  writeFileSync(files.events, '');
  writeFileSync(files.orders, '');

  const target = await openTarget(s);
  try {
    const sale = await drillSale(target.baseUrl, s, runId, local);
    const { phase, tokensFile } = await drillBuyers(
      target.baseUrl,
      s,
      sale.saleId,
      local ? files.tokens : undefined,
    );
    if (target.local && target.tables && s.warmupSeconds > 0) {
      console.log(`Warming up for ${s.warmupSeconds} s on a separate sale…`);
      const generator = new ClientProcess();
      try {
        const warm = await warmUp(
          { ...target.local, db: target.tables.db, generator },
          { seconds: s.warmupSeconds, concurrency: 16, tag: sale.saleId },
        );
        console.log(
          `Warm-up: ${warm.checkouts} checkouts, pipeline drained ${warm.drainSeconds === null ? 'NOT within 180 s' : `${warm.drainSeconds} s after`}.`,
        );
      } finally {
        generator.stop();
      }
    }

    const sampler = await sampleSale(target, sale.saleId);
    console.log(
      `\nDrill: ${phase.buyers} buyers over ${phase.duration} s (${phase.rate}/s) for ${sale.units} units of ${sale.saleId}; checkout p99 bound ${s.p99} ms.\n`,
    );
    const { art, cpu } = await runArtilleryDrill({
      root,
      baseUrl: target.baseUrl,
      local,
      runId,
      saleId: sale.saleId,
      tokensFile,
      phase,
      s,
      files,
    });
    const accepted = acceptedOrders(files);
    const settled = await settleAndAudit(target, sale, s, phase.buyers, accepted, sampler);
    const ok = writeReport(
      {
        runId,
        local,
        baseUrl: target.baseUrl,
        audited: !!target.tables,
        sale,
        phase,
        s,
        art,
        cpu,
        stock: sampler.samples,
        settled,
        files,
      },
      accepted,
    );
    return ok ? 0 : 1;
  } finally {
    if (local && existsSync(files.tokens)) rmSync(files.tokens, { force: true });
    await target.close();
  }
}

// Modes beyond the Artillery drill live in their own files; the flag picks one.
if (process.argv.includes('--waiting-room')) await import('../waiting-room.ts');
else runMain(process.argv.includes('--burst') ? () => burstMain(process.argv.slice(2)) : main);
