import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spearman } from '../../load/lib/rank-correlation.ts';
import { pollAfterSeconds, type RoomDocument, stateFromDocument } from '../../shared/domain/waiting-room.ts';
import { drawOfTicket } from '../../shared/usecases/room-tickets.ts';
import type { FunctionKey } from '../../shared/wiring.ts';
import { type Harness, startHarness } from '../support/harness.ts';

/**
 * A crowd waiting in a room polls the public room document through the edge (the local runtime
 * plays CloudFront's cache): the polls cost (almost) no function invocation, each buyer computes
 * its place from its signed ticket, and calls the API once to exchange a served ticket.
 */
const BUYERS = 2_000;
const ADMIT_PER_SECOND = 100;

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ consumers: false });
});
afterAll(async () => {
  await h?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const total = (counts: Partial<Record<FunctionKey, number>>) =>
  Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);

/** Runs `work` over `items`, at most `limit` at once. */
async function inBatches<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

interface Buyer {
  userId: string;
  token: string;
  ticket: string;
  place?: number;
  admittedAt?: number;
  admittedPosition?: number;
}

describe(`${BUYERS} buyers polling the room`, () => {
  it('cost fewer than 50 invocations a second of polling; each learns its place and is admitted in line order', async () => {
    const { saleId } = await h.createSale({
      totalStock: BUYERS,
      perUserLimit: 1,
      startsAt: new Date(Date.now()).toISOString(),
      waitingRoom: { admitPerSecond: ADMIT_PER_SECOND, tokenSeconds: 120 },
    });
    const admin = await h.token('admin', true);
    // The line forms while admission is paused, then moves at ADMIT_PER_SECOND.
    const paused = await h.call('PATCH', `/sales/${saleId}`, {
      token: admin,
      body: { waitingRoom: { paused: true } },
    });
    expect(paused.status).toBe(200);
    const servedBefore = (paused.body.waitingRoom as { nowServing: number }).nowServing;

    const buyers: Buyer[] = [];
    await inBatches(
      Array.from({ length: BUYERS }, (_, i) => `crowd-${i}`),
      32,
      async (userId) => {
        const token = await h.token(userId);
        const joined = await h.call('POST', `/sales/${saleId}/queue`, { token });
        expect(joined.status, JSON.stringify(joined.body)).toBe(201);
        buyers.push({ userId, token, ticket: String(joined.body.ticket) });
      },
    );

    const resumed = await h.call('PATCH', `/sales/${saleId}`, {
      token: admin,
      body: { waitingRoom: { paused: false, admitPerSecond: ADMIT_PER_SECOND } },
    });
    expect(resumed.status).toBe(200);
    const before = h.runtime.invocationCounts();
    const hitsBefore = h.runtime.edge.stats.hits;
    const started = Date.now();

    /** What each poll showed: at any instant the admitted buyers must be a prefix of the line. */
    const seen: { asOf: number; place: number; state: string }[] = [];
    const poll = async (buyer: Buyer) => {
      const draw = drawOfTicket(buyer.ticket);
      if (!draw) throw new Error(`no draw in ${buyer.userId}'s ticket`);
      // They joined over half a minute: first looks spread over a few seconds, as pages would.
      await sleep(Math.random() * 5_000);
      for (;;) {
        const res = await fetch(`${h.runtime.url}/sales/${saleId}/room`);
        if (res.status !== 200) {
          await sleep(1_000);
          continue;
        }
        const doc = (await res.json()) as RoomDocument;
        const state = stateFromDocument(doc, draw);
        seen.push({ asOf: doc.asOf, place: state.position, state: state.state });
        buyer.place ??= state.position;
        expect(state.position, buyer.userId).toBe(buyer.place);
        if (state.state === 'ADMITTED') {
          const exchanged = await h.call('GET', `/sales/${saleId}/queue/me`, {
            token: buyer.token,
            headers: { 'queue-ticket': buyer.ticket },
          });
          if (exchanged.body.state === 'ADMITTED' && exchanged.body.admissionToken) {
            buyer.admittedAt = Date.now();
            buyer.admittedPosition = Number(exchanged.body.position);
            return;
          }
        }
        // The page's rhythm: the rule's pause, with jitter so buyers who joined together spread out.
        await sleep(pollAfterSeconds(state) * 1_000 * (0.75 + Math.random() * 0.5));
      }
    };
    await Promise.all(buyers.map(poll));

    const seconds = (Date.now() - started) / 1_000;
    const after = h.runtime.invocationCounts();
    const exchanges = (after.queueStatus ?? 0) - (before.queueStatus ?? 0);
    const polls = total(after) - total(before) - exchanges;
    const hits = h.runtime.edge.stats.hits - hitsBefore;
    console.log(
      `${BUYERS} buyers, ${seconds.toFixed(1)} s of polling: ${hits} edge hits, ${polls} poll invocations ` +
        `(${(polls / seconds).toFixed(1)}/s), ${exchanges} exchanges (${(exchanges / seconds).toFixed(1)}/s)`,
    );

    // Polls reach a function about once per max-age, not once per buyer.
    expect(polls / seconds).toBeLessThan(50);
    expect(hits).toBeGreaterThan(BUYERS);
    // One exchange per buyer (a second only where the document and the route disagreed for a moment).
    expect(exchanges).toBeGreaterThanOrEqual(BUYERS);
    expect(exchanges).toBeLessThan(BUYERS * 1.05);

    // Each learnt its place, the same the route gives, and the places are the line: 1..N, no holes.
    expect(buyers.every((b) => b.admittedPosition === b.place)).toBe(true);
    const places = buyers.map((b) => b.place as number).sort((a, b) => a - b);
    expect(places).toEqual(Array.from({ length: BUYERS }, (_, i) => i + 1));
    // Admitted in line order: at no instant was anyone admitted while someone ahead still waited
    // (checked over every document any buyer saw), and nobody before the schedule reached them.
    let furthestAdmitted = 0;
    const sorted = [...seen].sort((a, b) => a.asOf - b.asOf || (a.state === 'ADMITTED' ? -1 : 1));
    for (const o of sorted) {
      if (o.state === 'ADMITTED') furthestAdmitted = Math.max(furthestAdmitted, o.place);
      else expect(furthestAdmitted, `place ${o.place} waiting at ${o.asOf}`).toBeLessThan(o.place);
    }
    const late = buyers.filter((b) => (b.place as number) > servedBefore);
    for (const b of late)
      expect((b.admittedAt as number) - started).toBeGreaterThanOrEqual(
        ((b.place as number) - servedBefore - ADMIT_PER_SECOND) * (1_000 / ADMIT_PER_SECOND),
      );
    // How closely admissions followed the line (polling rhythm and this machine's load blur it).
    console.log(
      `Spearman (place, admitted at) over the ${late.length} admitted after the start: ${spearman(
        late.map((b) => b.place as number),
        late.map((b) => b.admittedAt as number),
      ).toFixed(3)}`,
    );
  }, 180_000);
});
