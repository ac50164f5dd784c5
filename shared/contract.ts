import * as z from 'zod/mini';
import { PAYMENT_RETRY_WINDOW_SECONDS, queues } from './wiring.ts';

/** Request shapes of the HTTP contract (DESIGN.md). zod/mini keeps the checkout bundle small. */

const id = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ -'));
/** An integer in [min, max]; `-0` is refused too (it parses, compares equal to 0, and stores oddly). */
const int = (min: number, max: number) =>
  z.int().check(
    z.gte(min),
    z.lte(max),
    z.refine((n) => !Object.is(n, -0), 'must not be -0'),
  );
const isoInstant = z.iso.datetime({ offset: true });
/** The ISO 4217 codes this runtime knows (ICU's list): "XYZ" is three capitals but no currency. */
const currencies = new Set(Intl.supportedValuesOf('currency'));
/** C0/C1 controls, line/paragraph separators and bidi overrides: invisible, or they reorder text. */
const CONTROL = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;

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
    name: z.string().check(
      z.refine((name) => !CONTROL.test(name), 'must not contain control characters'),
      z.trim(),
      z.minLength(1),
      z.maxLength(200),
    ),
    price: int(0, 100_000_000),
    currency: z.string().check(
      z.regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR'),
      z.refine((code) => currencies.has(code), 'is not an ISO 4217 currency'),
    ),
    totalStock: int(1, 1_000_000),
    perUserLimit: int(1, 1_000),
    startsAt: isoInstant,
    endsAt: isoInstant,
    // The number of stock dispensers (kept under its first name, `shards`).
    shards: z.optional(int(1, 64)),
    holdSeconds: z.optional(
      z.int().check(
        z.gte(PAYMENT_RETRY_WINDOW_SECONDS, {
          message: `must be at least ${PAYMENT_RETRY_WINDOW_SECONDS}: a hold must outlive the payment retry window (payments queue visibility ${queues.payments.visibilityTimeoutSeconds} s × ${queues.payments.maxReceiveCount} attempts)`,
        }),
        z.lte(86_400),
      ),
    ),
    waitingRoom: z.optional(waitingRoomSettings),
  })
  .check(
    z.refine((s) => Date.parse(s.endsAt) > Date.parse(s.startsAt), {
      message: 'endsAt must be after startsAt',
      path: ['endsAt'],
    }),
    z.refine((s) => Date.parse(s.endsAt) > Date.now(), {
      message: 'the sale window is already over',
      path: ['endsAt'],
    }),
    z.refine((s) => s.perUserLimit <= s.totalStock, {
      message: 'perUserLimit must not exceed totalStock',
      path: ['perUserLimit'],
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

/** The payment processors an adapter exists for (PAYMENT_GATEWAY). */
export const PAYMENT_GATEWAYS = ['simulated', 'stripe'] as const;
export type PaymentGatewayKind = (typeof PAYMENT_GATEWAYS)[number];

/**
 * What a buyer's paymentToken must look like for the configured gateway. Stripe takes a
 * PaymentMethod id the buyer's page created with Stripe.js (`pm_…`), never the simulator's test
 * tokens (`tok_ok`, `tok_decline`, …): those would otherwise reach a real processor as garbage.
 */
export const STRIPE_PAYMENT_METHOD = /^pm_[A-Za-z0-9_]{1,125}$/;
const stripePaymentToken = z
  .string()
  .check(z.regex(STRIPE_PAYMENT_METHOD, 'must be a Stripe PaymentMethod id (pm_…) created by Stripe.js'));

/**
 * A Stripe publishable key: public by design (Stripe.js runs with it in every buyer's browser), so
 * it is the only Stripe key the buyer page may carry; a secret (`sk_…`) or restricted (`rk_…`) key
 * must never match.
 */
export const STRIPE_PUBLISHABLE_KEY = /^pk_(live|test)_[A-Za-z0-9]{1,247}$/;

/** The checkout body the configured gateway accepts. */
export const placeOrderBodyFor = (gateway: PaymentGatewayKind) =>
  gateway === 'stripe' ? z.extend(placeOrderBody, { paymentToken: stripePaymentToken }) : placeOrderBody;

export const idempotencyKey = id;
export const pathId = id;

export const listOrdersQuery = z.strictObject({
  // Plain decimal digits only: Number() would also take 0x10, 1e2, " 7" or "".
  limit: z.optional(
    z.pipe(
      z.string().check(z.regex(/^[0-9]{1,3}$/, 'must be a decimal integer from 1 to 100')),
      z.pipe(z.transform(Number), z.int().check(z.gte(1), z.lte(100))),
    ),
  ),
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
