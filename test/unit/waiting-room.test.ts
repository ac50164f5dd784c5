import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../bench/capacity/engine.ts';
import { spearman } from '../../load/lib/rank-correlation.ts';
import {
  boughtAtLeast,
  type Counts,
  type Draw,
  lineOrder,
  newRoom,
  nowServing,
  pollAfterSeconds,
  positionOf,
  retimed,
  scheduled,
  ticketState,
} from '../../shared/domain/waiting-room.ts';
import { requireAdmission, signAdmission } from '../../shared/usecases/waiting-room.ts';

/** Seeded (the capacity model's mulberry32), so a failure can be replayed. */
const seeded = seededRandom;

const START = Date.parse('2026-06-01T12:00:00Z');
const K = 8;

/** Joins as the use case does: a lottery draw before the start, a number from a random counter shard after. */
function simulateJoins(preStart: number, postStart: number, random: () => number) {
  const counters = new Array<number>(K).fill(0);
  const tickets: { joinedAt: number; draw: Draw }[] = [];
  for (let i = 0; i < preStart; i++)
    tickets.push({ joinedAt: START - 600_000 + i * 10, draw: { kind: 'lottery', u: random() } });
  for (let i = 0; i < postStart; i++) {
    const shard = Math.floor(random() * K);
    counters[shard] = (counters[shard] ?? 0) + 1;
    tickets.push({ joinedAt: START + i, draw: { kind: 'counter', n: counters[shard] as number, shard } });
  }
  const counts: Counts = { preStart, counters };
  return { tickets, counts };
}

describe('line order (the fairness rule)', () => {
  const { tickets, counts } = simulateJoins(4_000, 3_000, seeded(7));
  const placed = tickets.map((t) => ({ ...t, position: positionOf(t.draw, counts, K) }));
  const pre = placed.filter((t) => t.draw.kind === 'lottery');
  const post = placed.filter((t) => t.draw.kind === 'counter');

  it('puts every pre-start joiner ahead of every post-start joiner', () => {
    const lastPre = Math.max(...pre.map((t) => t.position));
    const firstPost = Math.min(...post.map((t) => t.position));
    expect(lastPre).toBeLessThanOrEqual(4_000);
    expect(firstPost).toBe(4_001);
  });

  it('gives pre-start joiners places unrelated to when they arrived (lottery)', () => {
    const rho = spearman(
      pre.map((t) => t.joinedAt),
      pre.map((t) => t.position),
    );
    expect(Math.abs(rho)).toBeLessThan(0.05);
    // The earliest tenth of arrivals is spread over the whole line, not bunched at its head.
    const earliest = pre.slice(0, 400).map((t) => t.position);
    const inFirstTenth = earliest.filter((p) => p <= 400).length;
    expect(inFirstTenth).toBeGreaterThan(15);
    expect(inFirstTenth).toBeLessThan(70);
  });

  it('serves post-start joiners first come first served, within the shard interleaving', () => {
    const rho = spearman(
      post.map((t) => t.joinedAt),
      post.map((t) => t.position),
    );
    expect(rho).toBeGreaterThan(0.99);
    // dense: positions 4,001 … 7,000, each taken once, so admitPerSecond counts buyers
    expect(new Set(post.map((t) => t.position)).size).toBe(post.length);
    expect(Math.max(...post.map((t) => t.position))).toBe(7_000);
    // Random shard choice lets one shard run ahead by ~√(N/K) numbers, so a place can move by about
    // K·√(N/K) against arrival order (≈ 150 of 3,000 here): bounded, and small on average.
    const byPosition = [...post].sort((a, b) => a.position - b.position);
    const displacement = byPosition.map((t, place) => Math.abs(place - (t.joinedAt - START)));
    const bound = 3 * K * Math.sqrt(post.length / K);
    expect(Math.max(...displacement)).toBeLessThan(bound);
    expect(displacement.reduce((a, b) => a + b, 0) / displacement.length).toBeLessThan(bound / 3);
  });

  it('positions agree with the comparator', () => {
    const sorted = [...placed].sort((a, b) => lineOrder(a.draw, b.draw));
    for (let i = 1; i < sorted.length; i++)
      expect((sorted[i] as (typeof sorted)[number]).position).toBeGreaterThanOrEqual(
        (sorted[i - 1] as (typeof sorted)[number]).position,
      );
  });
});

describe('now serving', () => {
  const sale = {
    startsAt: new Date(START).toISOString(),
    createdAt: new Date(START - 3_600_000).toISOString(),
  };
  const room = newRoom({ admitPerSecond: 10, tokenSeconds: 60, overAdmit: 2 }, sale);

  it('admits nobody before the start, then admitPerSecond each second', () => {
    expect(nowServing(room, START - 1_000, 1_000, 0)).toBe(0);
    expect(nowServing(room, START + 5_000, 1_000, 0)).toBe(50);
    expect(nowServing(room, START + 5_099, 1_000, 0)).toBe(50);
  });

  it('never lets live admissions run far ahead of the remaining stock', () => {
    // 10 units left: at most scheduled(t − L) + 2 × 10.
    expect(nowServing(room, START + 30_000, 10, 0)).toBe(20);
    expect(nowServing(room, START + 90_000, 10, 0)).toBe(300 + 20);
    // and never below those whose token life has passed (abandoned places do not stall the line)
    for (const available of [0, 1, 5, 1_000])
      expect(nowServing(room, START + 120_000, available, 0)).toBeGreaterThanOrEqual(
        scheduled(room, START + 60_000),
      );
  });

  it('counts the buyers who bought as done, so a line that buys within seconds does not wait a token life', () => {
    // 10 units left at 30 s: without buyers counted, the cap holds at scheduled(−30 s) + 20 = 20,
    // far behind the 290 buyers already through; with them it admits on schedule (300).
    expect(nowServing(room, START + 30_000, 10, 0)).toBe(20);
    expect(nowServing(room, START + 30_000, 10, 290)).toBe(300);
    // and it still bounds live admissions by the stock: 100 bought, 10 left → at most 100 + 20.
    expect(nowServing(room, START + 30_000, 10, 100)).toBe(120);
  });

  it('takes the fewest buyers the units taken can have gone to as bought', () => {
    expect(boughtAtLeast({ totalStock: 1_000, perUserLimit: 2 }, 1_000)).toBe(0);
    expect(boughtAtLeast({ totalStock: 1_000, perUserLimit: 2 }, 412)).toBe(294);
    expect(boughtAtLeast({ totalStock: 1_000, perUserLimit: 1 }, 0)).toBe(1_000);
  });

  it('is continuous across a rate change and frozen while paused', () => {
    const at = START + 10_000;
    const faster = retimed(room, { admitPerSecond: 50 }, at);
    expect(nowServing(faster, at, 1_000, 0)).toBe(100);
    expect(nowServing(faster, at + 2_000, 1_000, 0)).toBe(200);
    const paused = retimed(faster, { paused: true }, at + 2_000);
    expect(nowServing(paused, at + 60_000, 1_000, 0)).toBe(200);
    const resumed = retimed(paused, { paused: false }, at + 60_000);
    expect(nowServing(resumed, at + 61_000, 1_000, 0)).toBe(250);
    expect(resumed.revision).toBe(3);
  });

  it('tells each ticket WAITING, ADMITTED, EXPIRED or SOLD_OUT', () => {
    // 100 lottery tickets ahead of 8,000 counter tickets: the line is through at position 8,100.
    const counts: Counts = { preStart: 100, counters: new Array(K).fill(1_000) };
    const draw: Draw = { kind: 'lottery', u: 0.5 }; // position 51, scheduled at START + 5.1 s
    const at = (ms: number) =>
      ticketState(room, draw, { now: START + ms, available: 1_000, counts, bought: 0 });
    expect(at(-10_000)).toMatchObject({ state: 'WAITING', position: 51, etaSeconds: 16 });
    expect(at(5_000)).toMatchObject({ state: 'WAITING', etaSeconds: 1 });
    expect(at(5_100)).toMatchObject({ state: 'ADMITTED', admissionExpiresAt: START + 65_100 });
    // a token never outlives the window: scheduled time + two token lives
    expect(at(100_000)).toMatchObject({ state: 'ADMITTED', admissionExpiresAt: START + 125_100 });
    expect(at(125_100)).toMatchObject({ state: 'EXPIRED' });
    // Last call: once the whole line has been served with units left, a passed turn is admitted again.
    expect(at(809_000)).toMatchObject({ state: 'EXPIRED' });
    expect(at(810_000)).toMatchObject({ state: 'ADMITTED', admissionExpiresAt: START + 870_000 });
    expect(ticketState(room, draw, { now: START, available: 0, counts, bought: 1_000 })).toMatchObject({
      state: 'SOLD_OUT',
    });
  });

  it('tells a buyer held back by the stock cap when the cap reaches them, not "1 s"', () => {
    // 5 units left: at most scheduled(t − 60 s) + 10 admitted. Position 501 is scheduled at 50.1 s,
    // but the cap reaches it only when scheduled(t − 60 s) = 491, at 49.1 s + 60 s = 109.1 s.
    const counts: Counts = { preStart: 1_000, counters: new Array(K).fill(0) };
    const draw: Draw = { kind: 'lottery', u: 0.5 };
    const at = (ms: number) => ticketState(room, draw, { now: START + ms, available: 5, counts, bought: 0 });
    expect(at(60_000)).toMatchObject({ state: 'WAITING', position: 501, etaSeconds: 50 });
    expect(at(109_000)).toMatchObject({ state: 'WAITING', etaSeconds: 1 });
    expect(at(109_100)).toMatchObject({ state: 'ADMITTED' });
    expect(pollAfterSeconds(at(60_000))).toBe(15);
    // Once 495 buyers have bought, the cap lets position 501 through when its turn comes.
    const bought = (ms: number) =>
      ticketState(room, draw, { now: START + ms, available: 5, counts, bought: 495 });
    expect(bought(50_000)).toMatchObject({ state: 'WAITING', position: 501, etaSeconds: 1 });
    expect(bought(50_100)).toMatchObject({ state: 'ADMITTED' });
  });
});

describe('admission tokens', () => {
  const key = 'k'.repeat(40);
  const sale = {
    saleId: 's1',
    waitingRoom: newRoom(
      { admitPerSecond: 1 },
      { startsAt: '2026-01-01T00:00:00Z', createdAt: '2026-01-01T00:00:00Z' },
    ),
  };
  const now = Date.now();
  const token = (
    claims: Partial<{ userId: string; saleId: string; expiresAt: number }> = {},
    signKey = key,
  ) => signAdmission(signKey, { userId: 'alice', saleId: 's1', expiresAt: now + 60_000, ...claims });

  it('lets the admitted buyer of this sale through, and anyone into a sale without a room', async () => {
    await expect(requireAdmission(sale, 'alice', await token(), now, key)).resolves.toBeUndefined();
    await expect(requireAdmission({ saleId: 's2' }, 'bob', undefined, now, key)).resolves.toBeUndefined();
  });

  it.each([
    ['no token', async () => undefined],
    ['another buyer', async () => token({ userId: 'bob' })],
    ['another sale', async () => token({ saleId: 's2' })],
    ['an expired token', async () => token({ expiresAt: now - 1_000 })],
    ['a token signed with another key', async () => token({}, 'x'.repeat(40))],
    ['garbage', async () => 'not-a-jwt'],
  ])('refuses %s with ADMISSION_REQUIRED', async (_name, make) => {
    await expect(requireAdmission(sale, 'alice', await make(), now, key)).rejects.toMatchObject({
      code: 'ADMISSION_REQUIRED',
    });
  });
});
