import * as z from 'zod/mini';
import {
  createSaleBody,
  idempotencyKey,
  listOrdersQuery,
  pathId,
  placeOrderBody,
  updateSaleBody,
} from '../contract.ts';
import type { ErrorCode } from '../domain/errors.ts';
import type { functions } from '../wiring.ts';
import * as shape from './responses.ts';

/**
 * What the OpenAPI document says about each HTTP route of the wiring table, beyond what the table
 * itself says (method, path, who may call). Keyed by the wiring's function key and typed so that a
 * route added to the wiring table without its entry here fails `tsc`; the generator
 * (shared/api/openapi.ts) reads nothing else. Answers every route shares (401/403 by the route's
 * auth, 400 for any request, 413/415 for a body, 429 RETRY) are added by the generator.
 */

export type HttpFunctionKey = {
  [K in keyof typeof functions]: (typeof functions)[K] extends { http: object } ? K : never;
}[keyof typeof functions];

export type HeaderName = 'Location' | 'Retry-After' | 'Cache-Control' | 'Vary' | 'Content-Security-Policy';

export interface Answer {
  description: string;
  /** JSON answers: the body's schema and one example. */
  schema?: z.ZodMiniType;
  example?: unknown;
  /** Non-JSON answers (pages). */
  mediaType?: string;
  headers?: readonly HeaderName[];
}

export interface RequestHeader {
  name: string;
  required: boolean;
  description: string;
  schema: z.ZodMiniType;
  example: string;
}

export interface RouteDoc {
  summary: string;
  description: string;
  tag: 'Sales' | 'Orders' | 'Waiting room' | 'Service';
  /** Path parameters are named by the wiring path; all are ids of this shape. */
  pathParameter?: z.ZodMiniType;
  query?: z.ZodMiniObject;
  headers?: RequestHeader[];
  body?: { schema: z.ZodMiniType; example: unknown };
  /** Success answers by status. */
  answers: Record<number, Answer>;
  /** The route's own refusals (status from `errorStatus`), beyond the shared ones. */
  errors?: ErrorCode[];
}

const saleExample = {
  saleId: 'spring-drop',
  name: 'Spring drop: trail shoe',
  price: 12900,
  currency: 'EUR',
  totalStock: 1000,
  available: 1000,
  perUserLimit: 2,
  startsAt: '2026-12-01T18:00:00.000Z',
  endsAt: '2026-12-01T20:00:00.000Z',
  status: 'SCHEDULED',
};
const roomExample = {
  admitPerSecond: 100,
  paused: false,
  opensAt: '2026-12-01T17:45:00.000Z',
  tokenSeconds: 120,
  nowServing: 4200,
  joined: 9100,
  waiting: 4900,
  admittedUnused: 310,
};
const orderExample = {
  orderId: 'ord_9f2c1e7a5b3d4c6e8a0b',
  saleId: 'spring-drop',
  userId: 'alice',
  quantity: 1,
  amount: 12900,
  currency: 'EUR',
  status: 'RESERVED',
  createdAt: '2026-12-01T18:00:01.250Z',
  updatedAt: '2026-12-01T18:00:01.250Z',
  expiresAt: '2026-12-01T18:10:01.250Z',
};
const ticketExample = {
  saleId: 'spring-drop',
  state: 'WAITING',
  position: 5120,
  nowServing: 4200,
  etaSeconds: 10,
  placedBy: 'lottery',
  pollAfterSeconds: 3,
};
const roomDocumentExample = {
  saleId: 'spring-drop',
  asOf: 1796148042000,
  available: 412,
  bought: 294,
  room: {
    admitPerSecond: 100,
    opensAt: '2026-12-01T17:45:00.000Z',
    tokenSeconds: 120,
    counterShards: 8,
    overAdmit: 2,
    base: 3400,
    t0: 1796148000000,
    paused: false,
  },
  counts: { preStart: 6000, counters: [388, 387, 388, 387, 388, 387, 388, 387] },
  nowServing: 4224,
  joined: 9100,
};
const signedTicketExample =
  'eyJhbGciOiJIUzI1NiJ9.eyJzYWxlIjoic3ByaW5nLWRyb3AiLCJkcmF3Ijp7ImtpbmQiOiJsb3R0ZXJ5IiwidSI6MC44NTN9LCJzdWIiOiJhbGljZSIsImF1ZCI6InRpY2tldCIsImlhdCI6MTc5NjE0NzEwMCwiZXhwIjoxNzk2MTU1MjAwfQ.uZO4j3BrQfuI_C4gEzZgrffrtN2dolGZ0GHZsxd0ahA';
const html = { mediaType: 'text/html', headers: ['Cache-Control', 'Content-Security-Policy'] } as const;

/**
 * The checkout body as the simulated gateway takes it; its pattern also admits every Stripe
 * PaymentMethod id, so it holds under either gateway, and the description says which is which.
 */
const placeOrderDoc = z.extend(placeOrderBody, {
  paymentToken: placeOrderBody.shape.paymentToken.check(
    z.describe(
      "How the buyer pays, per the deployment's `PAYMENT_GATEWAY`. Simulated gateway (the default): a simulator token, `tok_ok` approved, `tok_decline` declined, `tok_timeout` / `tok_error` a transient failure, `tok_flaky_N` failing its first N attempts. `PAYMENT_GATEWAY=stripe`: a Stripe PaymentMethod id (`pm_…`) the buyer's page created with Stripe.js, and anything else is 400 `VALIDATION_ERROR`.",
    ),
  ),
});

/**
 * The contract reads `limit` in two steps (decimal digits, then 1 to 100) and only the first has a
 * JSON Schema form; this one pattern is both (test/unit/openapi.test.ts holds them equal).
 */
export const LIMIT_PATTERN = /^(0{0,2}[1-9]|0?[1-9][0-9]|100)$/;
const listOrdersQueryDoc = z.strictObject({
  limit: z.optional(
    z
      .string()
      .check(
        z.regex(LIMIT_PATTERN),
        z.describe(
          'Orders per page, 1 to 100 in plain decimal digits (default 20); `0x10`, `1e1` or a repeated `limit` is 400.',
        ),
      ),
  ),
  nextToken: listOrdersQuery.shape.nextToken,
});

export const routeDocs = {
  health: {
    tag: 'Service',
    summary: 'Liveness',
    description: 'Answers while the API can run a function; touches no table.',
    answers: { 200: { description: 'Up', schema: shape.health, example: { status: 'ok' } } },
  },
  createSale: {
    tag: 'Sales',
    summary: 'Open a sale',
    description:
      'Creates a limited-stock sale for a time window; `shards` spreads the stock over dispensers and `waitingRoom` puts a line in front of the checkout. Operators only.',
    body: {
      schema: createSaleBody,
      example: {
        saleId: 'spring-drop',
        name: 'Spring drop: trail shoe',
        price: 12900,
        currency: 'EUR',
        totalStock: 1000,
        perUserLimit: 2,
        startsAt: '2026-12-01T18:00:00Z',
        endsAt: '2026-12-01T20:00:00Z',
        waitingRoom: { admitPerSecond: 100, opensAt: '2026-12-01T17:45:00Z' },
      },
    },
    answers: {
      201: { description: 'The sale', schema: shape.sale, example: saleExample, headers: ['Location'] },
    },
    errors: ['SALE_EXISTS'],
  },
  getSale: {
    tag: 'Sales',
    summary: 'Read a sale',
    description:
      'The sale with its live `available` (eventually consistent) and, for a sale with a waiting room, the room: rate, now serving, joined, waiting.',
    pathParameter: pathId,
    answers: {
      200: {
        description: 'The sale, the same for everyone: shared caches (the edge) may keep it briefly',
        schema: shape.sale,
        example: { ...saleExample, available: 412, status: 'ACTIVE', waitingRoom: roomExample },
        headers: ['Cache-Control'],
      },
    },
    errors: ['SALE_NOT_FOUND'],
  },
  getRoom: {
    tag: 'Waiting room',
    summary: "The room's public state",
    description:
      "One document for every buyer, cacheable by any shared cache for `PUBLIC_MAX_AGE_SECONDS`: the room's schedule, live stock and joiner counts at `asOf`. With it and the draw in their own signed `ticket` (from joining), a buyer computes the same place, state and ETA `GET /sales/{saleId}/queue/me` would give, so a waiting crowd polls this instead of a function per buyer. The admission token itself still comes from the status route.",
    pathParameter: pathId,
    answers: {
      200: {
        description: 'The room at `asOf` (epoch ms)',
        schema: shape.roomDocument,
        example: roomDocumentExample,
        headers: ['Cache-Control'],
      },
    },
    errors: ['SALE_NOT_FOUND', 'NOT_FOUND'],
  },
  updateSale: {
    tag: 'Waiting room',
    summary: 'Change the admission rate, pause or resume',
    description:
      'Re-anchors the waiting room schedule at now: nobody already served is taken back. Operators only.',
    pathParameter: pathId,
    body: { schema: updateSaleBody, example: { waitingRoom: { admitPerSecond: 50, paused: false } } },
    answers: {
      200: {
        description: 'The room after the change',
        schema: shape.roomChange,
        example: { waitingRoom: { ...roomExample, admitPerSecond: 50 } },
      },
    },
    errors: ['SALE_NOT_FOUND', 'NOT_FOUND'],
  },
  placeOrder: {
    tag: 'Orders',
    summary: 'Buy',
    description:
      'Reserves units and answers at once; payment follows asynchronously (RESERVED → PAYMENT_PENDING → CONFIRMED or PAYMENT_FAILED). The same Idempotency-Key with the same body returns the same order and changes nothing; with another body it is refused.',
    pathParameter: pathId,
    headers: [
      {
        name: 'Idempotency-Key',
        required: true,
        description: 'Makes retries safe: one order per buyer, sale and key. Send it exactly once.',
        schema: idempotencyKey,
        example: 'b7f1c0de-checkout-1',
      },
      {
        name: 'Admission-Token',
        required: false,
        description:
          'For a sale with a waiting room: the token `GET /sales/{saleId}/queue/me` gave this buyer once admitted.',
        schema: z.string().check(z.minLength(1), z.maxLength(4096)),
        example: 'eyJhbGciOiJIUzI1NiJ9.eyJzYWxlIjoic3ByaW5nLWRyb3AifQ.c2lnbmF0dXJl',
      },
    ],
    body: { schema: placeOrderDoc, example: { quantity: 1, paymentToken: 'tok_ok' } },
    answers: {
      202: {
        description: 'Reserved: the order, to follow at its Location',
        schema: shape.order,
        example: orderExample,
        headers: ['Location'],
      },
      200: {
        description: 'A replay: the order this key already made',
        schema: shape.order,
        example: { ...orderExample, status: 'CONFIRMED', updatedAt: '2026-12-01T18:00:02.010Z' },
        headers: ['Location'],
      },
    },
    errors: [
      'ADMISSION_REQUIRED',
      'SALE_NOT_FOUND',
      'SOLD_OUT',
      'SALE_NOT_ACTIVE',
      'PURCHASE_LIMIT_EXCEEDED',
      'IDEMPOTENCY_KEY_REUSED',
    ],
  },
  joinQueue: {
    tag: 'Waiting room',
    summary: 'Join the line',
    description:
      "One ticket per buyer per sale: before the start a lottery draw, after it arrival order. Joining again returns the same ticket (200). The answer carries `ticket`, the buyer's ticket signed by the API (a JWT whose readable payload holds the draw): with `GET /sales/{saleId}/room` it gives the buyer their place without asking, and sent back as `Queue-Ticket` it lets the status route skip reading the ticket.",
    pathParameter: pathId,
    answers: {
      201: {
        description: 'A new ticket; its status lives at Location',
        schema: shape.joinedTicket,
        example: { ...ticketExample, ticket: signedTicketExample },
        headers: ['Location', 'Cache-Control', 'Vary', 'Retry-After'],
      },
      200: {
        description: 'The ticket this buyer already had',
        schema: shape.joinedTicket,
        example: { ...ticketExample, ticket: signedTicketExample },
        headers: ['Cache-Control', 'Vary', 'Retry-After'],
      },
    },
    errors: ['SALE_NOT_FOUND', 'NOT_FOUND', 'SALE_NOT_ACTIVE'],
  },
  queueStatus: {
    tag: 'Waiting room',
    summary: 'My place in line',
    description:
      'WAITING (with an ETA; poll again after Retry-After), ADMITTED (with the Admission-Token the checkout needs), EXPIRED or SOLD_OUT. Private to the buyer: no shared cache keeps it.',
    pathParameter: pathId,
    headers: [
      {
        name: 'Queue-Ticket',
        required: false,
        description:
          'The signed `ticket` joining gave this buyer: with it the ticket is not read from the table. One that is not valid for this buyer and sale is ignored (the stored ticket is read). Send it at most once.',
        schema: z.string().check(z.minLength(1), z.maxLength(4096)),
        example: signedTicketExample,
      },
    ],
    answers: {
      200: {
        description: 'The ticket',
        schema: shape.queueStatus,
        example: {
          saleId: 'spring-drop',
          state: 'ADMITTED',
          position: 4100,
          nowServing: 4200,
          placedBy: 'lottery',
          admissionExpiresAt: 1796148120000,
          admissionToken: 'eyJhbGciOiJIUzI1NiJ9.eyJzYWxlIjoic3ByaW5nLWRyb3AifQ.c2lnbmF0dXJl',
          pollAfterSeconds: 0,
        },
        headers: ['Cache-Control', 'Vary', 'Retry-After'],
      },
    },
    errors: ['SALE_NOT_FOUND', 'NOT_FOUND'],
  },
  buyerPage: {
    tag: 'Service',
    summary: 'The buyer page',
    description: 'One HTML page: the sale, the waiting room, buying and following the order (`?sale=<id>`).',
    answers: { 200: { description: 'The page', ...html } },
  },
  openApi: {
    tag: 'Service',
    summary: 'This document',
    description: 'The OpenAPI 3.1 description of this API, generated from the code that enforces it.',
    answers: {
      200: {
        description: 'The OpenAPI document',
        schema: shape.openApiDocument,
        example: {
          openapi: '3.1.0',
          info: { title: 'Flash-sale checkout API', version: '1.0.0' },
          paths: {},
        },
        headers: ['Cache-Control'],
      },
    },
  },
  apiDocs: {
    tag: 'Service',
    summary: 'The API reference',
    description: 'This document rendered for people (Scalar), served from this origin with no CDN.',
    answers: { 200: { description: 'The page', ...html } },
  },
  apiDocsScript: {
    tag: 'Service',
    summary: "The API reference's renderer",
    description: "Scalar's browser bundle, from the pinned npm package.",
    answers: {
      200: { description: 'The script', mediaType: 'text/javascript', headers: ['Cache-Control'] },
    },
  },
  getOrder: {
    tag: 'Orders',
    summary: 'Read an order',
    description: "Its buyer or an operator; someone else's order is 404 like a missing one.",
    pathParameter: pathId,
    answers: { 200: { description: 'The order', schema: shape.order, example: orderExample } },
    errors: ['ORDER_NOT_FOUND'],
  },
  listMyOrders: {
    tag: 'Orders',
    summary: 'My orders',
    description: "The caller's orders, newest first, a page at a time: pass `nextToken` back for the next.",
    query: listOrdersQueryDoc,
    answers: {
      200: {
        description: 'A page of orders',
        schema: shape.orderPage,
        example: { orders: [orderExample], nextToken: 'eyJvIjoib3JkXzlmMmMifQ.c2ln' },
      },
    },
  },
  cancelOrder: {
    tag: 'Orders',
    summary: 'Cancel an order',
    description:
      'Only while RESERVED: the units go back on sale at once. Cancelling a cancelled order answers it again.',
    pathParameter: pathId,
    answers: {
      200: {
        description: 'The cancelled order',
        schema: shape.order,
        example: { ...orderExample, status: 'CANCELLED', updatedAt: '2026-12-01T18:01:00.000Z' },
      },
    },
    errors: ['ORDER_NOT_FOUND', 'ORDER_NOT_CANCELLABLE'],
  },
} satisfies Record<HttpFunctionKey, RouteDoc>;
