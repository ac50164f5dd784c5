/**
 * The waiting-room drill's result (load/waiting-room.ts): its targets, outcomes, fairness among
 * pre-start joiners, timings, what the crowd cost, and latency per kind of request. The same
 * object is the report and bench/results.json's `waitingRoom` section.
 */
import type { Runtime } from '../../local/runtime/index.ts';
import type { AuditReport } from '../../shared/audit/invariants.ts';
import { spearman } from './rank-correlation.ts';
import type { BuyerRecord, RoomPolling, Tally } from './room-buyer.ts';
import { round } from './stats.ts';
import { latencySummary } from './summary.ts';

export function summarizeRoomDrill(
  s: {
    buyers: number;
    units: number;
    preShare: number;
    admitRate: number;
    tokenSeconds: number;
    polling: RoomPolling;
  },
  buyers: BuyerRecord[],
  tally: Tally,
  audit: AuditReport,
  times: { startsAt: number; buyersDoneAt: number },
  runtime: Pick<Runtime, 'invocationCounts' | 'edge'>,
) {
  const invocations = runtime.invocationCounts();
  const outcomes: Record<string, number> = {};
  for (const b of buyers) outcomes[b.outcome ?? 'none'] = (outcomes[b.outcome ?? 'none'] ?? 0) + 1;
  const refusals: Record<string, number> = {};
  for (const b of buyers.filter((x) => x.outcome === 'refused'))
    refusals[b.refusal ?? '?'] = (refusals[b.refusal ?? '?'] ?? 0) + 1;
  const ordered = buyers.filter((b) => b.outcome === 'ordered');
  const cheaters = buyers.filter((b) => b.unadmittedCheckout !== undefined);
  // Grouped by how the room placed them (a join sent before the start but answered after it is
  // placed by arrival, correctly): the lottery group is the one whose arrival time must not matter.
  const pre = buyers.filter((b) => b.placedBy === 'lottery' && b.joinedAt !== undefined);
  const post = buyers.filter((b) => b.placedBy === 'arrival' && b.joinedAt !== undefined);
  const success = (b: BuyerRecord) => (b.outcome === 'ordered' ? 1 : 0);
  const rho = (group: BuyerRecord[]) =>
    round(
      spearman(
        group.map((b) => b.joinedAt as number),
        group.map(success),
      ),
      3,
    );
  const soldOutTold = buyers.filter((b) => b.outcome === 'soldOut').map((b) => b.outcomeAt as number);
  const lastOrder = Math.max(...ordered.map((b) => b.outcomeAt as number));
  const latency = (name: string) => {
    const { count, p50Ms, p99Ms } = latencySummary(tally.latencies[name] ?? []);
    return { count, p50: p50Ms, p99: p99Ms };
  };
  const ordersByUnadmitted = ordered.filter((b) => !b.admitted).length;
  const targets = {
    answers5xx: tally.answers5xx,
    everyBuyerEnded: (outcomes.gaveUp ?? 0) === 0 && (outcomes.none ?? 0) === 0,
    unitsSold: audit.stock.sold,
    unitsSoldEqualsStock: audit.stock.sold === s.units,
    unadmittedCheckoutsRefused: cheaters.every((b) => b.unadmittedCheckout === 403),
    ordersByUnadmittedBuyers: ordersByUnadmitted,
    ordersInTableMatchAccepted: audit.orders === ordered.length,
    auditClean: audit.ok,
    allHold: false,
  };
  targets.allHold =
    targets.answers5xx === 0 &&
    targets.everyBuyerEnded &&
    targets.unitsSoldEqualsStock &&
    targets.unadmittedCheckoutsRefused &&
    ordersByUnadmitted === 0 &&
    targets.ordersInTableMatchAccepted &&
    targets.auditClean;
  return {
    // How the buyers polled: `page` (as the buyer page does, no cap in flight) is what the bench keeps.
    polling: s.polling,
    settings: s,
    targets,
    outcomes,
    refusals,
    cheaters: cheaters.length,
    fairness: {
      method:
        "Spearman's rank correlation between join time and success (1 = got an order, 0 = not), per group",
      preStartJoinersPlanned: buyers.filter((b) => b.group === 'preStart').length,
      preStartJoiners: pre.length,
      preStartRho: rho(pre),
      preStartSuccessShare: round(pre.filter((b) => success(b)).length / Math.max(1, pre.length), 3),
      postStartJoiners: post.length,
      postStartRho: post.some((b) => success(b)) ? rho(post) : null,
      postStartSuccessShare: round(post.filter((b) => success(b)).length / Math.max(1, post.length), 3),
    },
    timings: {
      lastOrderAfterStartSeconds: ordered.length > 0 ? round((lastOrder - times.startsAt) / 1000) : null,
      // How long after the last order the last waiter learned SOLD_OUT (bounded by the poll interval).
      lastSoldOutToldAfterLastOrderSeconds:
        soldOutTold.length > 0 && ordered.length > 0
          ? round((Math.max(...soldOutTold) - lastOrder) / 1000)
          : null,
      allBuyersDoneAfterStartSeconds: round((times.buyersDoneAt - times.startsAt) / 1000),
    },
    requests: { ...tally.requests, answers429: tally.answers429 },
    // What the crowd cost: functions run (room documents the edge answered ran none).
    functionInvocations: {
      total: Object.values(invocations).reduce((a, b) => a + (b ?? 0), 0),
      ...invocations,
    },
    edge: { ...runtime.edge.stats },
    latencyMs: {
      join: latency('join'),
      room: latency('room'),
      status: latency('status'),
      checkout: latency('checkout'),
    },
  };
}
