import { randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { unknownParameter } from './stripe-contract.ts';

/**
 * A Stripe stand-in for tests, on loopback: stripe-stateful-mock (npm; a stateful server speaking
 * Stripe's wire protocol that this project did not write) holds the money — charges, refunds and
 * its own idempotency-key replay — and this facade in front of it adds what it lacks:
 *
 * - PaymentIntents (the mock knows only the Charges API): an intent lives here, and its
 *   confirmation creates a real charge in the mock with the card's test token;
 * - 3-D Secure: `pm_card_threeDSecure2Required` answers `requires_action` (no charge);
 * - Stripe's refusal of a parameter it does not know (400 `parameter_unknown`), the known names
 *   read from Stripe's own OpenAPI document (test/fixtures/stripe), which Prism cannot check;
 * - faults on demand (`failNext`): 429, 500 or a reset socket before any routing, or an answer
 *   outside Stripe's contract (the object without its `id`).
 *
 * The facade decides intent states; everything about charges and refunds is the mock's.
 * README "Payments" lists what this covers and what only real Stripe can tell.
 */
export interface StripeStandIn {
  /** STRIPE_API_BASE for the adapter. */
  url: string;
  secretKey: string;
  /** Every request the facade received, in order (faults included). */
  requests: { method: string; path: string; idempotencyKey?: string; status: number }[];
  /** The next requests (only those whose path ends with `onPath`, if given) fail with these, one each. */
  failNext(faults: Fault[], onPath?: string): void;
  /** The mock's charges carrying this order id in their metadata. */
  chargesFor(orderId: string): Promise<Stripe.Charge[]>;
  refundsOf(chargeId: string): Promise<Stripe.Refund[]>;
  stop(): Promise<void>;
}

/** Stripe's test PaymentMethods and the mock's test tokens that play them. */
const CARD_TOKENS: Record<string, string> = {
  pm_card_visa: 'tok_visa',
  pm_card_mastercard: 'tok_mastercard',
  pm_card_chargeDeclined: 'tok_chargeDeclined',
  pm_card_chargeDeclinedInsufficientFunds: 'tok_chargeDeclinedInsufficientFunds',
  pm_card_chargeDeclinedExpiredCard: 'tok_chargeDeclinedExpiredCard',
};
const THREE_D_SECURE = new Set(['pm_card_threeDSecure2Required', 'pm_card_authenticationRequired']);

type Fault = 429 | 500 | 'reset' | 'no-id';

interface Intent {
  id: string;
  object: 'payment_intent';
  amount: number;
  currency: string;
  capture_method: 'automatic' | 'manual';
  confirmation_method: 'automatic' | 'manual';
  payment_method_types: string[];
  status: Stripe.PaymentIntent.Status;
  payment_method: string | null;
  metadata: Record<string, string>;
  latest_charge: string | null;
  last_payment_error: unknown;
  cancellation_reason: string | null;
  next_action: unknown;
  created: number;
  livemode: false;
}

export async function startStripeStandIn(): Promise<StripeStandIn> {
  const require = createRequire(import.meta.url);
  const mock = require('stripe-stateful-mock') as { createExpressApp(): RequestListener };
  const mockServer = await listen(createServer(mock.createExpressApp()));
  const mockPort = (mockServer.address() as AddressInfo).port;
  const secretKey = `sk_test_${randomBytes(12).toString('hex')}`;
  const money = new Stripe(secretKey, {
    host: '127.0.0.1',
    port: mockPort,
    protocol: 'http',
    maxNetworkRetries: 0,
    telemetry: false,
  });

  const intents = new Map<string, Intent>();
  const created = new Map<string, string>(); // Idempotency-Key → intent id
  const faults: { fault: Fault; onPath?: string }[] = [];
  const requests: StripeStandIn['requests'] = [];

  const stripeError = (status: number, error: Record<string, unknown>) => ({ status, body: { error } });

  async function route(method: string, path: string, form: URLSearchParams, key?: string) {
    const unknown = unknownParameter(method, path.split('?')[0] ?? path, form);
    if (unknown)
      return stripeError(400, {
        type: 'invalid_request_error',
        code: 'parameter_unknown',
        param: unknown,
        message: `Received unknown parameter: ${unknown}`,
      });
    const parts = path.split('?')[0]?.split('/').filter(Boolean) ?? [];
    // POST /v1/payment_intents
    if (method === 'POST' && parts.length === 2 && parts[1] === 'payment_intents') {
      const replay = key ? created.get(key) : undefined;
      if (replay) return { status: 200, body: intents.get(replay) };
      const intent: Intent = {
        id: `pi_${randomBytes(12).toString('hex')}`,
        object: 'payment_intent',
        amount: Number(form.get('amount')),
        currency: String(form.get('currency')),
        capture_method: form.get('capture_method') === 'manual' ? 'manual' : 'automatic',
        confirmation_method: form.get('confirmation_method') === 'manual' ? 'manual' : 'automatic',
        // What automatic_payment_methods resolves to for a card-only test account.
        payment_method_types: ['card'],
        status: form.get('payment_method') ? 'requires_confirmation' : 'requires_payment_method',
        payment_method: form.get('payment_method'),
        metadata: metadataOf(form),
        latest_charge: null,
        last_payment_error: null,
        cancellation_reason: null,
        next_action: null,
        created: Math.floor(Date.now() / 1000),
        livemode: false,
      };
      intents.set(intent.id, intent);
      if (key) created.set(key, intent.id);
      return { status: 200, body: intent };
    }
    const intent = parts[1] === 'payment_intents' ? intents.get(parts[2] ?? '') : undefined;
    if (parts[1] === 'payment_intents' && !intent)
      return stripeError(404, { type: 'invalid_request_error', code: 'resource_missing', param: 'intent' });
    if (intent && method === 'GET' && parts.length === 3) {
      const expand = [...form.values()].includes('latest_charge') && intent.latest_charge;
      return {
        status: 200,
        body: expand
          ? { ...intent, latest_charge: await money.charges.retrieve(intent.latest_charge as string) }
          : intent,
      };
    }
    if (intent && method === 'POST' && parts[3] === 'confirm') return confirm(intent, form);
    if (intent && method === 'POST' && parts[3] === 'cancel') {
      if (intent.status === 'succeeded' || intent.status === 'canceled') return unexpectedState(intent);
      intent.status = 'canceled';
      intent.cancellation_reason = form.get('cancellation_reason') ?? 'requested_by_customer';
      intent.next_action = null;
      return { status: 200, body: intent };
    }
    // POST /v1/refunds {payment_intent}: the mock refunds the intent's charge.
    if (method === 'POST' && path === '/v1/refunds') {
      const refunded = intents.get(form.get('payment_intent') ?? '');
      if (!refunded?.latest_charge)
        return stripeError(400, {
          type: 'invalid_request_error',
          code: 'resource_missing',
          param: 'payment_intent',
        });
      return relay(() =>
        money.refunds.create(
          { charge: refunded.latest_charge as string, metadata: metadataOf(form) },
          key ? { idempotencyKey: key } : {},
        ),
      );
    }
    return stripeError(404, {
      type: 'invalid_request_error',
      message: `stand-in: no route for ${method} ${path}`,
    });
  }

  async function confirm(intent: Intent, form: URLSearchParams) {
    if (intent.status !== 'requires_confirmation' && intent.status !== 'requires_payment_method')
      return unexpectedState(intent);
    const paymentMethod = form.get('payment_method') ?? intent.payment_method ?? '';
    intent.payment_method = paymentMethod;
    if (THREE_D_SECURE.has(paymentMethod)) {
      intent.status = 'requires_action';
      intent.next_action = { type: 'use_stripe_sdk', use_stripe_sdk: {} };
      return { status: 200, body: intent };
    }
    const source = CARD_TOKENS[paymentMethod];
    if (!source)
      return stripeError(400, {
        type: 'invalid_request_error',
        code: 'resource_missing',
        param: 'payment_method',
        message: `No such PaymentMethod: '${paymentMethod}'`,
      });
    // Held while the charge runs: a concurrent confirmation finds it busy, as Stripe's lock does.
    intent.status = 'processing';
    try {
      const charge = await money.charges.create(
        { amount: intent.amount, currency: intent.currency, source, metadata: intent.metadata },
        // One charge per intent at the mock, whatever reaches it twice.
        { idempotencyKey: `confirm-${intent.id}` },
      );
      intent.status = 'succeeded';
      intent.latest_charge = charge.id;
      return { status: 200, body: intent };
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeCardError)) {
        intent.status = 'requires_confirmation';
        throw error;
      }
      const raw = error.raw as Record<string, unknown>;
      intent.status = 'requires_payment_method';
      intent.latest_charge = error.charge ?? null;
      intent.last_payment_error = raw;
      return stripeError(402, { ...raw, payment_intent: intent });
    }
  }

  const unexpectedState = (intent: Intent) =>
    stripeError(400, {
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      message: `This PaymentIntent's status is ${intent.status}.`,
      payment_intent: intent,
    });

  async function relay(request: () => Promise<unknown>) {
    try {
      return { status: 200, body: await request() };
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeError)) throw error;
      return { status: error.statusCode ?? 500, body: { error: error.raw } };
    }
  }

  const facade = await listen(
    createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const method = req.method ?? 'GET';
        const path = req.url ?? '/';
        const key = header(req, 'idempotency-key');
        const log = (status: number) =>
          requests.push({ method, path: path.split('?')[0] ?? path, idempotencyKey: key, status });
        const at = faults.findIndex((f) => !f.onPath || (path.split('?')[0] ?? '').endsWith(f.onPath));
        const fault = at >= 0 ? faults.splice(at, 1)[0]?.fault : undefined;
        if (fault === 'reset') {
          log(0);
          req.socket.destroy();
          return;
        }
        if (fault === 429 || fault === 500) {
          log(fault);
          // Stripe's 429 is an invalid_request_error with code rate_limit (its spec knows no other type).
          const error =
            fault === 429 ? { type: 'invalid_request_error', code: 'rate_limit' } : { type: 'api_error' };
          return send(res, fault, { error: { ...error, message: `stand-in: injected ${fault}` } });
        }
        const query = path.includes('?') ? path.slice(path.indexOf('?') + 1) : '';
        const form = new URLSearchParams(method === 'GET' ? query : Buffer.concat(chunks).toString('utf8'));
        route(method, path, form, key).then(
          ({ status, body }) => {
            log(status);
            send(res, status, fault === 'no-id' ? { ...(body as object), id: undefined } : body);
          },
          (error: unknown) => {
            log(500);
            send(res, 500, { error: { type: 'api_error', message: String(error) } });
          },
        );
      });
    }),
  );

  return {
    url: `http://127.0.0.1:${(facade.address() as AddressInfo).port}`,
    secretKey,
    requests,
    failNext: (next, onPath) => {
      faults.push(...next.map((fault) => ({ fault, onPath })));
    },
    async chargesFor(orderId) {
      const { data } = await money.charges.list({ limit: 100 });
      return data.filter((charge) => charge.metadata.order_id === orderId);
    },
    async refundsOf(chargeId) {
      return (await money.refunds.list({ charge: chargeId, limit: 100 })).data;
    },
    async stop() {
      await Promise.all([close(facade), close(mockServer)]);
    },
  };
}

function metadataOf(form: URLSearchParams): Record<string, string> {
  return Object.fromEntries(
    [...form.entries()].filter(([k]) => k.startsWith('metadata[')).map(([k, v]) => [k.slice(9, -1), v]),
  );
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'request-id': `req_${randomBytes(6).toString('hex')}`,
  });
  res.end(JSON.stringify(body));
}

async function listen(server: Server): Promise<Server> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return server;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
