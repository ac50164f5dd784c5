/**
 * After the drill: stock (and open orders) sampled through the run for the chart, then, with table
 * access, the wait until every order is terminal and the invariant audit of the sale.
 */
import type { AuditReport } from '../../shared/audit/invariants.ts';
import { auditSale } from '../../shared/audit/invariants.ts';
import { readSale } from '../lib/api-calls.ts';
import { typedApi } from '../lib/api-client.ts';
import {
  countOpenOrders,
  saleProbe,
  sampleStock,
  settledAtFrom,
  WATCH_EVERY_MS,
  waitUntilZero,
} from '../lib/local.ts';
import type { StockSample } from '../lib/stats.ts';
import type { DrillSale } from './sale.ts';
import type { Settings } from './settings.ts';
import type { Target } from './target.ts';

/** Samples the sale's stock from its tables (with open orders), or else from `GET /sales/{id}`. */
export async function sampleSale(target: Target, saleId: string) {
  if (target.tables)
    return sampleStock(await saleProbe(target.tables.db, target.tables.names, saleId), WATCH_EVERY_MS);
  const api = typedApi(target.baseUrl, { timeoutMs: 5_000, retries429: 0 });
  return sampleStock(async () => ({ available: (await readSale(api, saleId)).available }), WATCH_EVERY_MS);
}

export interface Settled {
  /** When every order was terminal (epoch ms); undefined when not seen (or no table access). */
  settledAt?: number;
  audit?: AuditReport;
}

export async function settleAndAudit(
  target: Target,
  sale: DrillSale,
  s: Settings,
  demand: number,
  accepted: string[],
  sampler: { samples: StockSample[]; stop(): Promise<void> },
): Promise<Settled> {
  if (!target.tables) {
    await sampler.stop();
    return {};
  }
  const { db, names } = target.tables;
  const settled = await waitUntilZero(
    () => countOpenOrders(db, names.orders, sale.saleId),
    s.settleTimeoutSeconds * 1000,
  );
  if (!settled.at) console.error(`${settled.last} orders still open after ${s.settleTimeoutSeconds} s.`);
  await new Promise((r) => setTimeout(r, 500));
  const paymentsFail = s.declineRate > 0 || s.errorRate > 0 || s.paymentToken !== 'tok_ok';
  const audit = await auditSale(db, names, sale.saleId, {
    acceptedOrderIds: accepted,
    expectSettled: true,
    // Sold out is only owed when demand exceeded stock and nothing came back.
    expectSoldOut: !paymentsFail && demand > sale.units && !s.saleId,
    reconcilePeriodMs: s.reconcileSeconds * 1000,
  });
  await sampler.stop();
  // Buyers poll their orders, so Artillery ends after settling: the sampler saw when it happened.
  const settledAt = settled.at === undefined ? undefined : (settledAtFrom(sampler.samples) ?? settled.at);
  return { ...(settledAt === undefined ? {} : { settledAt }), audit };
}
