import * as z from 'zod/mini';

/** Request shapes of the HTTP contract (DESIGN.md). zod/mini keeps the checkout bundle small. */

const id = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ -'));
const int = (min: number, max: number) => z.int().check(z.gte(min), z.lte(max));
const isoInstant = z.iso.datetime({ offset: true });

/** Opt-in waiting room (README "Waiting room"); admitPerSecond is buyers let through per second. */
const waitingRoomSettings = z.strictObject({
  admitPerSecond: int(1, 100_000),
  opensAt: z.optional(isoInstant),
  tokenSeconds: z.optional(int(10, 3_600)),
  counterShards: z.optional(int(1, 50)),
  overAdmit: z.optional(z.number().check(z.gte(1), z.lte(100))),
});

export const createSaleBody = z
  .strictObject({
    saleId: z.optional(id),
    name: z.string().check(z.trim(), z.minLength(1), z.maxLength(200)),
    price: int(0, 100_000_000),
    currency: z.string().check(z.regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR')),
    totalStock: int(1, 1_000_000),
    perUserLimit: int(1, 1_000),
    startsAt: isoInstant,
    endsAt: isoInstant,
    shards: z.optional(int(1, 50)),
    holdSeconds: z.optional(int(30, 86_400)),
    waitingRoom: z.optional(waitingRoomSettings),
  })
  .check(
    z.refine((s) => Date.parse(s.endsAt) > Date.parse(s.startsAt), {
      message: 'endsAt must be after startsAt',
      path: ['endsAt'],
    }),
    z.refine((s) => s.shards === undefined || s.shards <= s.totalStock, {
      message: 'shards must not exceed totalStock',
      path: ['shards'],
    }),
    z.refine((s) => !s.waitingRoom?.opensAt || Date.parse(s.waitingRoom.opensAt) <= Date.parse(s.startsAt), {
      message: 'the waiting room must open no later than the sale starts',
      path: ['waitingRoom', 'opensAt'],
    }),
  );
export type CreateSaleBody = z.infer<typeof createSaleBody>;

export const placeOrderBody = z.strictObject({
  // The sale's own limit is checked against the cached sale; this bound only rejects nonsense early.
  quantity: int(1, 1_000),
  paymentToken: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be a payment token such as tok_ok')),
});
export type PlaceOrderBody = z.infer<typeof placeOrderBody>;

export const idempotencyKey = id;
export const pathId = id;

export const listOrdersQuery = z.strictObject({
  limit: z.optional(z.coerce.number().check(z.int(), z.gte(1), z.lte(100))),
  nextToken: z.optional(z.string().check(z.maxLength(2048))),
});

/** `PATCH /sales/{id}`: an operator changes the admission rate or pauses/resumes admission. */
export const updateSaleBody = z
  .strictObject({
    waitingRoom: z.strictObject({
      admitPerSecond: z.optional(int(0, 100_000)),
      paused: z.optional(z.boolean()),
    }),
  })
  .check(
    z.refine((b) => b.waitingRoom.admitPerSecond !== undefined || b.waitingRoom.paused !== undefined, {
      message: 'set waitingRoom.admitPerSecond or waitingRoom.paused',
      path: ['waitingRoom'],
    }),
  );
