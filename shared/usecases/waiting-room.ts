import { jwtVerify, SignJWT } from 'jose';
import { DomainError, saleNotFound } from '../domain/errors.ts';
import type { Sale } from '../domain/sale.ts';
import { remainingOf } from '../domain/stock.ts';
import {
  admittedUnused,
  boughtAtLeast,
  type Counts,
  countsCovering,
  type Draw,
  joined,
  nowServing,
  pollAfterSeconds,
  type Room,
  type RoomDocument,
  retimed,
  roomDocumentOf,
  type Ticket,
  type TicketState,
  ticketState,
} from '../domain/waiting-room.ts';
import type { SaleStore } from '../ports.ts';
import { readTicket, signTicket } from './room-tickets.ts';
import type { SaleSnapshots } from './sale-snapshots.ts';

/** Tickets, counters and the room's schedule; the DynamoDB adapter is adapters/dynamo/room-store.ts. */
export interface RoomStore {
  getTicket(saleId: string, userId: string): Promise<Ticket | undefined>;
  /** Put-if-absent; returns the ticket that is stored (the earlier one when the buyer already joined). */
  putTicket(ticket: Ticket): Promise<{ ticket: Ticket; created: boolean }>;
  /** One plain `ADD` on counter shard `shard`; returns the new value (post-start numbers). */
  takeNumber(saleId: string, shard: number): Promise<number>;
  /** Counts a pre-start joiner on counter shard `shard`. */
  countPreStart(saleId: string, shard: number): Promise<void>;
  readCounts(saleId: string, shards: number): Promise<Counts>;
  /** Writes the room if its stored revision is still `room.revision - 1`; false when someone else changed it. */
  saveRoom(saleId: string, room: Room): Promise<boolean>;
}

/** Audience of admission tokens: they open the checkout of one sale, for one buyer, briefly. */
export const ADMISSION_AUDIENCE = 'admission';
export const ADMISSION_HEADER = 'admission-token';

/** Metric names the room emits (EMF, namespace of POWERTOOLS_METRICS_NAMESPACE); infra alarms on these. */
export const roomMetricNames = [
  'queueJoined',
  'queueAdmitted',
  'queueWaiting',
  'queueAdmittedUnused',
  'admissionRefused',
] as const;
export type RoomMetric = (typeof roomMetricNames)[number];

export interface RoomDeps {
  sales: SaleStore;
  rooms: RoomStore;
  snapshots: SaleSnapshots;
  signingKey: string;
  random?: () => number;
  observe?: (metric: RoomMetric, value: number) => void;
}

/** A sale with a room, its live stock and its joiner counts, as one instance last read them. */
export interface Snapshot {
  sale: Sale;
  room: Room;
  available: number;
  counts: Counts;
}

export type QueueStatus = TicketState & {
  saleId: string;
  /** How the place was given: a lottery draw (joined before the start) or arrival order (after). */
  placedBy: 'lottery' | 'arrival';
  admissionToken?: string;
  pollAfterSeconds: number;
};

async function roomOf(snapshots: SaleSnapshots, saleId: string, now: number): Promise<Snapshot> {
  const snapshot = await snapshots.get(saleId, now);
  if (!snapshot) throw saleNotFound(saleId);
  const room = snapshot.sale.waitingRoom;
  if (!room || !snapshot.counts) throw noRoom(saleId);
  return { sale: snapshot.sale, room, available: snapshot.available, counts: snapshot.counts };
}

const noRoom = (saleId: string) =>
  new DomainError('NOT_FOUND', `Sale ${saleId} has no waiting room; buy directly`);

/** `POST /sales/{id}/queue`: one ticket per buyer per sale; joining again returns the same ticket. */
export async function joinQueue(
  deps: RoomDeps,
  input: { saleId: string; userId: string; now: number },
): Promise<{ status: QueueStatus & { ticket: string }; created: boolean }> {
  const { saleId, userId, now } = input;
  const snapshot = await roomOf(deps.snapshots, saleId, now);
  const { sale, room } = snapshot;
  let ticket = await deps.rooms.getTicket(saleId, userId);
  let created = false;
  if (!ticket) {
    if (now < Date.parse(room.opensAt))
      throw new DomainError('SALE_NOT_ACTIVE', `The waiting room for ${saleId} opens at ${room.opensAt}`);
    if (now >= Date.parse(sale.endsAt))
      throw new DomainError('SALE_NOT_ACTIVE', `Sale ${saleId} ended at ${sale.endsAt}`);
    const random = deps.random ?? Math.random;
    const shard = Math.floor(random() * room.counterShards);
    let draw: Draw;
    if (now < Date.parse(sale.startsAt)) {
      // Before the start only a lottery draw: the time of arrival carries no weight.
      await deps.rooms.countPreStart(saleId, shard);
      draw = { kind: 'lottery', u: random() };
    } else {
      draw = { kind: 'counter', n: await deps.rooms.takeNumber(saleId, shard), shard };
    }
    ({ ticket, created } = await deps.rooms.putTicket({ saleId, userId, joinedAt: now, draw }));
    if (created) deps.observe?.('queueJoined', 1);
  }
  const status = await statusOf(deps, snapshot, ticket, now);
  return { status: { ...status, ticket: await signTicket(deps.signingKey, ticket, sale.endsAt) }, created };
}

/**
 * `GET /sales/{id}/queue/me`: reads only (the ticket, plus the per-instance snapshot). With the
 * buyer's signed ticket (`Queue-Ticket`, as the page sends it to exchange a served ticket for an
 * admission token) not even the ticket is read.
 */
export async function queueStatus(
  deps: RoomDeps,
  input: { saleId: string; userId: string; now: number; signedTicket?: string },
): Promise<QueueStatus> {
  const snapshot = await roomOf(deps.snapshots, input.saleId, input.now);
  const ticket =
    (input.signedTicket && (await readTicket(deps.signingKey, input.signedTicket, input))) ||
    (await deps.rooms.getTicket(input.saleId, input.userId));
  if (!ticket)
    throw new DomainError('NOT_FOUND', `You have no ticket for sale ${input.saleId}; join the line first`);
  return statusOf(deps, snapshot, ticket, input.now);
}

async function statusOf(
  deps: RoomDeps,
  snapshot: Snapshot,
  ticket: Ticket,
  now: number,
): Promise<QueueStatus> {
  const { room, available, counts, sale } = snapshot;
  const state = ticketState(room, ticket.draw, {
    now,
    available,
    bought: boughtAtLeast(sale, available),
    counts: countsCovering(counts, ticket.draw),
  });
  const status: QueueStatus = {
    ...state,
    saleId: sale.saleId,
    placedBy: ticket.draw.kind === 'lottery' ? 'lottery' : 'arrival',
    pollAfterSeconds: pollAfterSeconds(state),
  };
  if (state.state === 'ADMITTED') {
    status.admissionToken = await signAdmission(deps.signingKey, {
      userId: ticket.userId,
      saleId: sale.saleId,
      expiresAt: state.admissionExpiresAt,
    });
    deps.observe?.('queueAdmitted', 1);
  }
  return status;
}

/** `PATCH /sales/{id}`: change the admission rate or pause/resume, re-anchoring the schedule at now. */
export async function updateRoom(
  deps: Pick<RoomDeps, 'sales' | 'rooms'>,
  input: { saleId: string; change: { admitPerSecond?: number; paused?: boolean }; now: number },
): Promise<RoomView> {
  const { saleId, change, now } = input;
  for (let attempt = 0; attempt < 5; attempt++) {
    const sale = await deps.sales.get(saleId);
    if (!sale) throw saleNotFound(saleId);
    if (!sale.waitingRoom) throw noRoom(saleId);
    const room = retimed(sale.waitingRoom, change, now);
    if (await deps.rooms.saveRoom(saleId, room)) {
      const [dispensers, counts] = await Promise.all([
        deps.sales.readDispensers(saleId, sale.shards, true),
        deps.rooms.readCounts(saleId, room.counterShards),
      ]);
      return roomView(
        { sale, room, available: dispensers.reduce((sum, d) => sum + remainingOf(d), 0), counts },
        now,
      );
    }
  }
  throw new DomainError('RETRY', 'The room was changed concurrently; retry', [], 1);
}

export interface RoomView {
  admitPerSecond: number;
  paused: boolean;
  opensAt: string;
  tokenSeconds: number;
  nowServing: number;
  joined: number;
  waiting: number;
  admittedUnused: number;
}

export function roomView(snapshot: Snapshot, now: number): RoomView {
  const { room, available, counts, sale } = snapshot;
  const bought = boughtAtLeast(sale, available);
  const serving = nowServing(room, now, available, bought);
  const total = joined(counts);
  return {
    admitPerSecond: room.admitPerSecond,
    paused: room.paused,
    opensAt: room.opensAt,
    tokenSeconds: room.tokenSeconds,
    nowServing: serving,
    joined: total,
    waiting: available > 0 ? Math.max(0, total - serving) : 0,
    admittedUnused: admittedUnused(room, now, available, bought),
  };
}

/** `GET /sales/{id}/room`: the room's public document (README "Waiting room"), from the snapshot. */
export async function roomDocument(
  snapshots: SaleSnapshots,
  saleId: string,
  now: number,
): Promise<RoomDocument> {
  return roomDocumentOf(saleId, await roomOf(snapshots, saleId, now), now);
}

export async function signAdmission(
  key: string,
  claims: { userId: string; saleId: string; expiresAt: number },
): Promise<string> {
  return new SignJWT({ sale: claims.saleId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.userId)
    .setAudience(ADMISSION_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(Math.floor(claims.expiresAt / 1000))
    .sign(new TextEncoder().encode(key));
}

/**
 * The checkout's one early step for a sale with a room: a valid admission token for this buyer and
 * this sale, or 403 ADMISSION_REQUIRED. Sales without a room pass untouched.
 */
export async function requireAdmission(
  sale: Pick<Sale, 'saleId' | 'waitingRoom'>,
  userId: string,
  token: string | undefined,
  now: number,
  key: string,
): Promise<void> {
  if (!sale.waitingRoom) return;
  if (!token)
    throw new DomainError(
      'ADMISSION_REQUIRED',
      `Sale ${sale.saleId} has a waiting room: join it and send the Admission-Token it gives you`,
    );
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(key), {
      audience: ADMISSION_AUDIENCE,
      subject: userId,
      algorithms: ['HS256'],
      currentDate: new Date(now),
    });
    if (payload.sale !== sale.saleId) throw new Error('another sale');
  } catch {
    throw new DomainError(
      'ADMISSION_REQUIRED',
      'The Admission-Token is not valid for you and this sale, or it has expired; ask the waiting room again',
    );
  }
}
