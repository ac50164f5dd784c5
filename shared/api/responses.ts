import * as z from 'zod/mini';
import type { ErrorCode, ErrorDetail } from '../domain/errors.ts';
import type { OrderView } from '../domain/order.ts';
import { orderStatuses } from '../domain/order.ts';
import type { SaleView } from '../domain/sale.ts';
import type { RoomDocument } from '../domain/waiting-room.ts';
import type { QueueStatus, RoomView } from '../usecases/waiting-room.ts';

/**
 * Response shapes of the HTTP contract, for the OpenAPI document (shared/api/openapi.ts). The
 * handlers return the domain's view types; the type checks at the bottom keep these schemas and
 * those types equal, so a field added to a view without its schema (or the reverse) fails `tsc`.
 * Strict objects: an undocumented field in an answer is a contract violation (Prism reports it).
 */

const instant = z.iso.datetime({ offset: true });
const count = z.int().check(z.gte(0));

export const roomView = z.strictObject({
  admitPerSecond: count,
  paused: z.boolean(),
  opensAt: instant,
  tokenSeconds: z.int().check(z.gte(1)),
  nowServing: count,
  joined: count,
  waiting: count,
  admittedUnused: count,
});

export const sale = z.strictObject({
  saleId: z.string(),
  name: z.string(),
  price: count,
  currency: z.string().check(z.regex(/^[A-Z]{3}$/)),
  totalStock: z.int().check(z.gte(1)),
  available: count,
  perUserLimit: z.int().check(z.gte(1)),
  startsAt: instant,
  endsAt: instant,
  status: z.enum(['SCHEDULED', 'ACTIVE', 'SOLD_OUT', 'ENDED']),
  waitingRoom: z.optional(roomView),
});

export const order = z.strictObject({
  orderId: z.string(),
  saleId: z.string(),
  userId: z.string(),
  quantity: z.int().check(z.gte(1)),
  amount: count,
  currency: z.string().check(z.regex(/^[A-Z]{3}$/)),
  status: z.enum(orderStatuses),
  createdAt: instant,
  updatedAt: instant,
  expiresAt: instant,
  failureReason: z.optional(z.string()),
});

export const orderPage = z.strictObject({
  orders: z.array(order),
  nextToken: z.optional(z.string()),
});

export const health = z.strictObject({ status: z.literal('ok') });

/** An OpenAPI document: only its frame is fixed here (it describes itself). */
export const openApiDocument = z.looseObject({
  openapi: z.string().check(z.regex(/^3\.1\.\d+$/)),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});

export const roomChange = z.strictObject({ waitingRoom: roomView });

/** Epoch milliseconds. */
const epochMs = count;
const ticketCommon = {
  saleId: z.string(),
  position: z.int().check(z.gte(1)),
  nowServing: count,
  placedBy: z.enum(['lottery', 'arrival']),
  pollAfterSeconds: count,
};
/** A ticket's four states, each with the fields `extra` adds (joining adds the signed ticket). */
function ticketStates<Extra extends Record<string, z.ZodMiniType>>(extra: Extra) {
  return z.discriminatedUnion('state', [
    z.strictObject({ ...ticketCommon, ...extra, state: z.literal('WAITING'), etaSeconds: z.nullable(count) }),
    z.strictObject({
      ...ticketCommon,
      ...extra,
      state: z.literal('ADMITTED'),
      admissionExpiresAt: epochMs,
      admissionToken: z.string(),
    }),
    z.strictObject({ ...ticketCommon, ...extra, state: z.literal('EXPIRED') }),
    z.strictObject({ ...ticketCommon, ...extra, state: z.literal('SOLD_OUT') }),
  ]);
}
export const queueStatus = ticketStates({});
/** `POST /sales/{id}/queue`: the status plus the buyer's signed ticket (shared/usecases/room-tickets.ts). */
export const joinedTicket = ticketStates({ ticket: z.string() });

/** `GET /sales/{id}/room`: the room's public state, the same for every buyer (RoomDocument). */
export const roomDocument = z.strictObject({
  saleId: z.string(),
  asOf: epochMs,
  available: count,
  // The fewest buyers the units taken went to (⌈taken ÷ perUserLimit⌉): the stock cap counts them done.
  bought: count,
  room: z.strictObject({
    admitPerSecond: count,
    opensAt: instant,
    tokenSeconds: z.int().check(z.gte(1)),
    counterShards: z.int().check(z.gte(1)),
    overAdmit: z.number().check(z.gte(1)),
    // Positions served at t0: a real number, the schedule moves in fractions of a position.
    base: z.number().check(z.gte(0)),
    t0: epochMs,
    paused: z.boolean(),
  }),
  counts: z.strictObject({ preStart: count, counters: z.array(count) }),
  nowServing: count,
  joined: count,
});

export const errorDetail = z.strictObject({ path: z.optional(z.string()), message: z.string() });

/** The contract's error body; `code` is narrowed per answer to the codes that answer can carry. */
export function errorEnvelope(codes: readonly [ErrorCode, ...ErrorCode[]]) {
  return z.strictObject({
    error: z.strictObject({
      code: z.enum(codes),
      message: z.string(),
      details: z.optional(z.array(errorDetail)),
    }),
  });
}

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
/** `tsc` fails here when a schema and the type the handlers return part ways. */
export type ResponseShapesMatch = [
  Holds<Same<z.output<typeof sale>, SaleView & { waitingRoom?: RoomView }>>,
  Holds<Same<z.output<typeof roomView>, RoomView>>,
  Holds<Same<z.output<typeof order>, OrderView>>,
  Holds<Same<z.output<typeof errorDetail>, ErrorDetail>>,
  Holds<Same<z.output<typeof queueStatus>['state'], QueueStatus['state']>>,
  // Every ticket the schema admits is a QueueStatus (the type leaves the token optional).
  Holds<z.output<typeof queueStatus> extends QueueStatus ? true : false>,
  Holds<z.output<typeof joinedTicket> extends QueueStatus & { ticket: string } ? true : false>,
  Holds<Same<z.output<typeof roomDocument>, RoomDocument>>,
];
