/**
 * The waiting room's rules, as plain functions of stored facts and the clock (README "Waiting room").
 *
 * - A ticket is drawn once per buyer per sale. Before the sale starts it carries a lottery draw
 *   u ∈ [0,1); from the start on, a number n from one of K sharded counters.
 * - Line order: every pre-start ticket (by u) before every post-start ticket (by n, then shard).
 *   Position of a lottery ticket = ⌊u·P⌋ + 1 with P = pre-start joiners; of a counter ticket
 *   = P + 1 + (counter tickets ahead of it in (n, shard) order, from the shards' current values).
 *   Shards fill unevenly, so a later joiner on a lagging shard may step in ahead (by about
 *   K·√(N/K) places at worst); the line has no holes, so admitPerSecond is buyers per second.
 * - "Now serving" is a function of time, rewritten only by an operator's PATCH:
 *   scheduled(t) = base + admitPerSecond·(t − t0) (frozen while paused), capped so live
 *   admissions never run far ahead of the stock: serving(t) = min(scheduled(t),
 *   max(scheduled(t − L), bought) + ⌈overAdmit·available⌉), L = token life, bought = the fewest
 *   buyers the units taken can have gone to (⌈taken ÷ perUserLimit⌉). Whoever was scheduled more
 *   than a token life ago has bought or expired, and at least `bought` admitted buyers have
 *   bought; beyond them at most overAdmit × the remaining units hold a live admission. (Without
 *   `bought`, a line whose buyers buy within seconds stalled for a token life once the stock was
 *   low: the cap waited for the schedule to pass them.) Since serving(t) ≥ scheduled(t − L), a
 *   position is admitted at most L after its scheduled time A(p); its window closes at A(p) + 2L
 *   (EXPIRED after), until the whole line has been served (serving ≥ joiners) while units
 *   remain: then every ticket holder is admitted again (last call), so no-shows never strand stock.
 */

export interface RoomSettings {
  admitPerSecond: number;
  /** When buyers may join; absent = from the sale's creation. */
  opensAt?: string;
  /** Life of one admission token (L). */
  tokenSeconds?: number;
  /** Ticket counter shards (K). */
  counterShards?: number;
  /** Live admissions allowed per remaining unit. */
  overAdmit?: number;
}

/** The room as stored on the sale item. Only `POST /sales` and `PATCH /sales/{id}` write it. */
export interface Room {
  admitPerSecond: number;
  opensAt: string;
  tokenSeconds: number;
  counterShards: number;
  overAdmit: number;
  /** The schedule: `base` positions served at epoch ms `t0`, then `admitPerSecond` more each second. */
  base: number;
  t0: number;
  paused: boolean;
  /** Bumped by every PATCH; PATCH writes only if nobody else did in between. */
  revision: number;
}

export const DEFAULT_TOKEN_SECONDS = 120;
export const DEFAULT_COUNTER_SHARDS = 8;
export const DEFAULT_OVER_ADMIT = 2;

export type Draw = { kind: 'lottery'; u: number } | { kind: 'counter'; n: number; shard: number };

export interface Ticket {
  saleId: string;
  userId: string;
  joinedAt: number;
  draw: Draw;
}

/** Joiner counts from the counter shards: pre-start joiners in total, post-start numbers per shard. */
export interface Counts {
  preStart: number;
  counters: number[];
}

export function newRoom(settings: RoomSettings, sale: { startsAt: string; createdAt: string }): Room {
  return {
    admitPerSecond: settings.admitPerSecond,
    opensAt: new Date(settings.opensAt ?? sale.createdAt).toISOString(),
    tokenSeconds: settings.tokenSeconds ?? DEFAULT_TOKEN_SECONDS,
    counterShards: settings.counterShards ?? DEFAULT_COUNTER_SHARDS,
    overAdmit: settings.overAdmit ?? DEFAULT_OVER_ADMIT,
    base: 0,
    t0: Date.parse(sale.startsAt),
    paused: false,
    revision: 0,
  };
}

/** An operator's change: the schedule is re-anchored at `now` so nobody already served is taken back. */
export function retimed(
  room: Room,
  change: { admitPerSecond?: number; paused?: boolean },
  now: number,
): Room {
  const anchor = Math.max(now, room.t0);
  return {
    ...room,
    base: scheduled(room, anchor),
    t0: anchor,
    admitPerSecond: change.admitPerSecond ?? room.admitPerSecond,
    paused: change.paused ?? room.paused,
    revision: room.revision + 1,
  };
}

/** Positions the schedule has reached at epoch ms `t` (a real number; positions are integers ≥ 1). */
export function scheduled(room: Room, t: number): number {
  if (room.paused || t <= room.t0) return room.base;
  return room.base + (room.admitPerSecond * (t - room.t0)) / 1000;
}

/** The highest position admitted at `t`, with the stock cap (`bought`: see boughtAtLeast). */
export function nowServing(room: Room, t: number, available: number, bought: number): number {
  const done = Math.max(scheduled(room, t - room.tokenSeconds * 1000), bought);
  return Math.floor(Math.min(scheduled(room, t), done + Math.ceil(room.overAdmit * available)));
}

/** The fewest buyers the units taken so far can have gone to: each buys at most perUserLimit. */
export function boughtAtLeast(sale: { totalStock: number; perUserLimit: number }, available: number): number {
  return Math.ceil(Math.max(0, sale.totalStock - available) / Math.max(1, sale.perUserLimit));
}

/** When the schedule reaches position p (epoch ms); undefined while paused short of it. */
export function scheduledAt(room: Room, position: number): number | undefined {
  if (position <= room.base) {
    return room.admitPerSecond > 0
      ? room.t0 - ((room.base - position) / room.admitPerSecond) * 1000
      : room.t0;
  }
  if (room.paused || room.admitPerSecond <= 0) return undefined;
  return room.t0 + ((position - room.base) / room.admitPerSecond) * 1000;
}

export function positionOf(draw: Draw, counts: Counts, counterShards: number): number {
  if (draw.kind === 'lottery') return Math.floor(draw.u * counts.preStart) + 1;
  // Counter tickets ahead in (n, shard) order, counted from the shards' current values, so the
  // line has no holes where one shard runs behind another.
  let ahead = 0;
  for (let shard = 0; shard < counterShards; shard++) {
    const issued = counts.counters[shard] ?? 0;
    ahead += Math.min(issued, shard < draw.shard ? draw.n : draw.n - 1);
  }
  return counts.preStart + ahead + 1;
}

/** The line order as a comparator (lower first): what `positionOf` spreads over integer places. */
export function lineOrder(a: Draw, b: Draw): number {
  if (a.kind === 'lottery' && b.kind === 'lottery') return a.u - b.u;
  if (a.kind === 'lottery') return -1;
  if (b.kind === 'lottery') return 1;
  return a.n - b.n || a.shard - b.shard;
}

export function joined(counts: Counts): number {
  return counts.preStart + counts.counters.reduce((a, b) => a + b, 0);
}

export type TicketState =
  | { state: 'WAITING'; position: number; nowServing: number; etaSeconds: number | null }
  | { state: 'ADMITTED'; position: number; nowServing: number; admissionExpiresAt: number }
  | { state: 'EXPIRED'; position: number; nowServing: number }
  | { state: 'SOLD_OUT'; position: number; nowServing: number };

export function ticketState(
  room: Room,
  draw: Draw,
  facts: { now: number; available: number; counts: Counts; bought: number },
): TicketState {
  const { now, available, counts, bought } = facts;
  const position = positionOf(draw, counts, room.counterShards);
  const serving = nowServing(room, now, available, bought);
  if (available <= 0) return { state: 'SOLD_OUT', position, nowServing: serving };
  const at = scheduledAt(room, position);
  const tokenMs = room.tokenSeconds * 1000;
  // Last call: once the whole line has been served and units remain, every ticket holder whose
  // turn passed is admitted again, so no-shows never strand stock.
  const lineServed = serving >= joined(counts);
  if (at !== undefined && now >= at + 2 * tokenMs) {
    return lineServed
      ? { state: 'ADMITTED', position, nowServing: serving, admissionExpiresAt: now + tokenMs }
      : { state: 'EXPIRED', position, nowServing: serving };
  }
  if (position <= serving && at !== undefined) {
    return {
      state: 'ADMITTED',
      position,
      nowServing: serving,
      admissionExpiresAt: Math.min(now + tokenMs, at + 2 * tokenMs),
    };
  }
  const admitted = admittedAt(room, position, available, bought);
  return {
    state: 'WAITING',
    position,
    nowServing: serving,
    etaSeconds: admitted === undefined ? null : Math.max(1, Math.ceil((admitted - now) / 1000)),
  };
}

/**
 * When position p is admitted if the stock and the buyers stay as they are: at its scheduled time
 * when the cap lets it through, or later when the cap holds it back (serving ≥ scheduled(t − L) +
 * ⌈overAdmit·available⌉ reaches p one token life after the schedule reached p − ⌈overAdmit·available⌉;
 * sooner if buyers keep buying, which this cannot know). Without the cap, everyone held by it would
 * be told "1 s" and poll every second until their turn, a herd the size of the line.
 */
export function admittedAt(
  room: Room,
  position: number,
  available: number,
  bought: number,
): number | undefined {
  const at = scheduledAt(room, position);
  if (at === undefined) return undefined;
  const headroom = Math.ceil(room.overAdmit * available);
  if (position <= bought + headroom) return at;
  const capReaches = scheduledAt(room, position - headroom);
  return capReaches === undefined ? at : Math.max(at, capReaches + room.tokenSeconds * 1000);
}

/**
 * Estimated live admissions (admitted, window open, not yet bought): positions served, less those
 * whose window has closed or, if more, the fewest buyers the units taken went to.
 */
export function admittedUnused(room: Room, now: number, available: number, bought: number): number {
  const closed = Math.floor(scheduled(room, now - 2 * room.tokenSeconds * 1000));
  return Math.max(0, nowServing(room, now, available, bought) - Math.max(closed, bought));
}

/**
 * A counter ticket newer than the counts it is read against still sorts after everyone counted:
 * its number is real, the counts only catch up.
 */
export function countsCovering(counts: Counts, draw: Draw): Counts {
  if (draw.kind === 'lottery') return counts;
  const counters = [...counts.counters];
  counters[draw.shard] = Math.max(counters[draw.shard] ?? 0, draw.n);
  return { ...counts, counters };
}

/**
 * The room's public state, one document for every buyer (`GET /sales/{id}/room`): with it and
 * their own signed ticket's draw, a buyer computes the same answer the status route gives
 * (`stateFromDocument`), so a crowd polls a cacheable document instead of a function.
 */
export interface RoomDocument {
  saleId: string;
  /** Epoch ms the document describes; the state is computed at this instant. */
  asOf: number;
  available: number;
  /** The fewest buyers the units taken went to (boughtAtLeast): the stock cap counts them done. */
  bought: number;
  room: Omit<Room, 'revision'>;
  counts: Counts;
  nowServing: number;
  joined: number;
}

export function roomDocumentOf(
  saleId: string,
  facts: {
    room: Room;
    available: number;
    counts: Counts;
    sale: { totalStock: number; perUserLimit: number };
  },
  now: number,
): RoomDocument {
  const bought = boughtAtLeast(facts.sale, facts.available);
  const { revision: _revision, ...room } = facts.room;
  return {
    saleId,
    asOf: now,
    available: facts.available,
    bought,
    room,
    counts: facts.counts,
    nowServing: nowServing(facts.room, now, facts.available, bought),
    joined: joined(facts.counts),
  };
}

/**
 * A ticket's state from the public document: the status route's rule (`ticketState`) on the
 * document's facts. The buyer page runs this very function (web/page.ts embeds its source).
 */
export function stateFromDocument(doc: RoomDocument, draw: Draw): TicketState {
  return ticketState({ ...doc.room, revision: 0 }, draw, {
    now: doc.asOf,
    available: doc.available,
    bought: doc.bought,
    counts: countsCovering(doc.counts, draw),
  });
}

/** How long a buyer should wait before asking again: soon when close, rarely when far back. */
export function pollAfterSeconds(state: TicketState): number {
  // A passed turn may still get the last call, or learn SOLD_OUT.
  if (state.state === 'EXPIRED') return 10;
  if (state.state !== 'WAITING') return 0;
  if (state.etaSeconds === null) return 10;
  return Math.min(15, Math.max(1, Math.floor(state.etaSeconds / 3)));
}
