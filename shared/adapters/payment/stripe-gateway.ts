import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import Stripe from 'stripe';
import { ConfigError } from '../../config.ts';
import { STRIPE_PAYMENT_METHOD } from '../../contract.ts';
import {
  type ChargeOutcome,
  type ChargeState,
  type PaymentGateway,
  type ProcessorLimits,
  ProcessorRateLimitedError,
  TransientPaymentError,
} from '../../ports.ts';
import { isConditionFailure } from '../dynamo/errors.ts';

export interface StripeGatewayOptions {
  secretKey: string;
  /** Another API base (a stand-in); unset = api.stripe.com. */
  apiBase?: string;
  timeoutMs: number;
  limits: ProcessorLimits;
}

/** Declined without asking Stripe: the token is not a PaymentMethod id (a simulator token, say). */
export const INVALID_PAYMENT_METHOD = 'invalid_payment_method';
/**
 * The card asks for 3-D Secure. The buyer has left the page by the time the payment consumer
 * confirms, so nobody can complete the challenge: the PaymentIntent is cancelled and the order
 * fails (README "Payments"); the buyer may buy again with a card that needs no challenge.
 */
export const AUTHENTICATION_REQUIRED = 'authentication_required';

/** Long enough to refund: the refund check of an ended order comes within minutes, disputes later. */
const LEDGER_RETENTION_SECONDS = 90 * 24 * 3600;

interface LedgerItem {
  paymentIntentId?: string;
  outcome?: 'approved' | 'declined';
  reason?: string;
}

/**
 * Stripe behind the PaymentGateway port, with PaymentIntents confirmed server-side.
 *
 * A charge is two steps so that money can only move once we know where to look for it: the
 * PaymentIntent is created unconfirmed (Stripe idempotency key = order id, order id in metadata),
 * its id is written to our ledger (the payments table), and only then is it confirmed. So
 * `lookup` is a consistent read (our ledger, then the PaymentIntent itself): no id in the ledger
 * means nothing was ever confirmed. A PaymentIntent succeeds at most once, which makes a repeated
 * charge (a redelivery, a retry after a timeout) harmless: it finds the intent and reads its state.
 *
 * Stripe's answers map onto the port: succeeded → approved (chargeId = the PaymentIntent id);
 * a card decline → declined with Stripe's decline code; requires_action (3-D Secure) → the intent
 * is cancelled and declined with `authentication_required`; 429 → ProcessorRateLimitedError;
 * 5xx, timeouts and connection failures → TransientPaymentError (the queue retries).
 */
export class StripePaymentGateway implements PaymentGateway {
  readonly limits: ProcessorLimits;
  private readonly stripe: Stripe;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly ledger: string,
    options: StripeGatewayOptions,
  ) {
    this.limits = options.limits;
    const base = options.apiBase ? new URL(options.apiBase) : undefined;
    this.stripe = new Stripe(options.secretKey, {
      // One attempt per call: retries go through the queue, which already spaces them out, and a
      // retry inside one delivery would only eat the function's time.
      maxNetworkRetries: 0,
      timeout: options.timeoutMs,
      telemetry: false,
      appInfo: { name: 'flash-sale-checkout' },
      ...(base
        ? {
            host: base.hostname,
            port: base.port || (base.protocol === 'https:' ? 443 : 80),
            protocol: base.protocol === 'http:' ? 'http' : 'https',
          }
        : {}),
    });
  }

  async charge(request: {
    idempotencyKey: string;
    amount: number;
    currency: string;
    paymentToken: string;
  }): Promise<ChargeOutcome> {
    const key = request.idempotencyKey;
    // The checkout refuses such tokens already; an order taken under another gateway still fails
    // here rather than sending a simulator token to Stripe.
    if (!STRIPE_PAYMENT_METHOD.test(request.paymentToken))
      return this.settle(key, { status: 'declined', reason: INVALID_PAYMENT_METHOD });

    const entry = await this.entry(key);
    if (entry?.outcome === 'approved' && entry.paymentIntentId)
      return { status: 'approved', chargeId: entry.paymentIntentId };
    if (entry?.outcome === 'declined') return { status: 'declined', reason: entry.reason ?? 'declined' };

    try {
      const found = entry?.paymentIntentId
        ? await this.call(() => this.stripe.paymentIntents.retrieve(entry.paymentIntentId as string))
        : await this.create(request);
      const intent =
        found.status === 'requires_confirmation' ? await this.confirm(found.id, request.paymentToken) : found;
      return await this.outcomeOf(key, intent);
    } catch (error) {
      // A card decline leaves the intent in requires_payment_method with the decline recorded.
      if (error instanceof Stripe.errors.StripeCardError)
        return this.settle(key, { status: 'declined', reason: declineReason(error) });
      // No such PaymentMethod (or one of another account, or a test one in live mode).
      if (error instanceof Stripe.errors.StripeInvalidRequestError && error.param === 'payment_method')
        return this.settle(key, { status: 'declined', reason: INVALID_PAYMENT_METHOD });
      throw error;
    }
  }

  /** Confirms; a confirmation that already happened (its answer lost) is read back instead. */
  private async confirm(id: string, paymentMethod: string): Promise<Stripe.PaymentIntent> {
    try {
      return await this.call(() => this.stripe.paymentIntents.confirm(id, { payment_method: paymentMethod }));
    } catch (error) {
      if (!isUnexpectedState(error)) throw error;
      return this.call(() => this.stripe.paymentIntents.retrieve(id));
    }
  }

  /** Idempotent: the refund's Stripe idempotency key is derived from the order id. */
  async refund(idempotencyKey: string, reason: string): Promise<void> {
    const entry = await this.entry(idempotencyKey);
    if (!entry?.paymentIntentId) throw new Error(`No PaymentIntent recorded for ${idempotencyKey}`);
    try {
      await this.call(() =>
        this.stripe.refunds.create(
          {
            payment_intent: entry.paymentIntentId,
            reason: 'requested_by_customer',
            metadata: { order_id: idempotencyKey, why: reason.slice(0, 500) },
          },
          { idempotencyKey: `refund-${idempotencyKey}` },
        ),
      );
    } catch (error) {
      // Refunded already (past Stripe's 24 h idempotency window, or by an operator): done.
      if (
        !(
          error instanceof Stripe.errors.StripeInvalidRequestError && error.code === 'charge_already_refunded'
        )
      )
        throw error;
    }
    await this.db.send(
      new UpdateCommand({
        TableName: this.ledger,
        Key: { idempotencyKey },
        UpdateExpression: 'SET refunded = :yes, refundReason = :reason',
        ExpressionAttributeValues: { ':yes': true, ':reason': reason },
      }),
    );
  }

  /** Our ledger says which PaymentIntent; Stripe says what became of it (read, never cached). */
  async lookup(idempotencyKey: string): Promise<ChargeState> {
    const entry = await this.entry(idempotencyKey);
    if (!entry?.paymentIntentId)
      return entry?.outcome === 'declined' ? { status: 'declined' } : { status: 'none' };
    const intent = await this.call(() =>
      this.stripe.paymentIntents.retrieve(entry.paymentIntentId as string, { expand: ['latest_charge'] }),
    );
    switch (intent.status) {
      case 'succeeded': {
        const charge = intent.latest_charge;
        const refunded =
          typeof charge === 'object' &&
          charge !== null &&
          (charge.refunded || charge.amount_refunded >= intent.amount);
        return { status: 'approved', chargeId: intent.id, refunded };
      }
      case 'canceled':
        return { status: 'declined' };
      case 'requires_payment_method':
        return intent.last_payment_error ? { status: 'declined' } : { status: 'pending' };
      default:
        // requires_confirmation (created, never confirmed), requires_action, processing.
        return { status: 'pending' };
    }
  }

  /** Creates the PaymentIntent unconfirmed and records its id before anything can charge. */
  private async create(request: {
    idempotencyKey: string;
    amount: number;
    currency: string;
    paymentToken: string;
  }): Promise<Stripe.PaymentIntent> {
    const key = request.idempotencyKey;
    const intent = await this.call(() =>
      this.stripe.paymentIntents.create(
        {
          // The order's amount is already in the currency's minor units, as Stripe wants it.
          amount: request.amount,
          currency: request.currency.toLowerCase(),
          payment_method: request.paymentToken,
          // No redirect-based method: nobody is on the page to follow a redirect when we confirm.
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          metadata: { order_id: key },
        },
        { idempotencyKey: key },
      ),
    );
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.ledger,
          Key: { idempotencyKey: key },
          UpdateExpression:
            'SET paymentIntentId = :id, amount = :amount, currency = :currency, expiresAtEpoch = :ttl',
          // Stripe returned the same intent for the same key; a different one only after its 24 h
          // idempotency window, and then the first stays the one that counts.
          ConditionExpression: 'attribute_not_exists(paymentIntentId) OR paymentIntentId = :id',
          ExpressionAttributeValues: {
            ':id': intent.id,
            ':amount': request.amount,
            ':currency': request.currency,
            ':ttl': Math.floor(Date.now() / 1000) + LEDGER_RETENTION_SECONDS,
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const entry = await this.entry(key);
      return this.call(() => this.stripe.paymentIntents.retrieve(entry?.paymentIntentId as string));
    }
    return intent;
  }

  private async outcomeOf(key: string, intent: Stripe.PaymentIntent): Promise<ChargeOutcome> {
    switch (intent.status) {
      case 'succeeded':
        return this.settle(key, { status: 'approved', chargeId: intent.id });
      case 'requires_action':
        // Cancelled so that no later completion of the challenge can take money for a failed order.
        await this.call(() =>
          this.stripe.paymentIntents.cancel(intent.id, { cancellation_reason: 'abandoned' }),
        ).catch((error: unknown) => {
          if (!isUnexpectedState(error)) throw error;
        });
        return this.settle(key, { status: 'declined', reason: AUTHENTICATION_REQUIRED });
      case 'requires_payment_method':
        return this.settle(key, {
          status: 'declined',
          reason:
            intent.last_payment_error?.decline_code ?? intent.last_payment_error?.code ?? 'card_declined',
        });
      case 'canceled':
        return this.settle(key, { status: 'declined', reason: intent.cancellation_reason ?? 'canceled' });
      default:
        // processing (or a confirmation still in flight): no outcome yet, ask again later.
        throw new TransientPaymentError(`PaymentIntent ${intent.id} is ${intent.status}`);
    }
  }

  /** Records the outcome beside the intent id (what the audit and a repeated charge read first). */
  private async settle(key: string, outcome: ChargeOutcome): Promise<ChargeOutcome> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.ledger,
        Key: { idempotencyKey: key },
        UpdateExpression:
          'SET outcome = :outcome, chargeId = :charge, reason = :reason, settledAt = :at, expiresAtEpoch = if_not_exists(expiresAtEpoch, :ttl)',
        ExpressionAttributeValues: {
          ':outcome': outcome.status,
          ':charge': outcome.status === 'approved' ? outcome.chargeId : null,
          ':reason': outcome.status === 'declined' ? outcome.reason : null,
          ':at': new Date().toISOString(),
          ':ttl': Math.floor(Date.now() / 1000) + LEDGER_RETENTION_SECONDS,
        },
      }),
    );
    return outcome;
  }

  private async entry(key: string): Promise<LedgerItem | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.ledger, Key: { idempotencyKey: key }, ConsistentRead: true }),
    );
    return Item as LedgerItem | undefined;
  }

  /** One Stripe request, its transient failures translated to the port's errors. */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (error instanceof Stripe.errors.StripeRateLimitError) {
        const retryAfter = Number(error.headers?.['retry-after']);
        throw new ProcessorRateLimitedError(
          `Stripe refused for rate: ${error.message}`,
          Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
        );
      }
      if (
        error instanceof Stripe.errors.StripeAPIError ||
        error instanceof Stripe.errors.StripeConnectionError
      )
        throw new TransientPaymentError(`Stripe unavailable: ${error.message}`);
      // A lock held by a concurrent request on the same object: retry later.
      if (error instanceof Stripe.errors.StripeError && error.code === 'lock_timeout')
        throw new TransientPaymentError(`Stripe object locked: ${error.message}`);
      throw error;
    }
  }
}

function declineReason(error: Stripe.errors.StripeCardError): string {
  return error.decline_code || error.code || 'card_declined';
}

function isUnexpectedState(error: unknown): boolean {
  return (
    error instanceof Stripe.errors.StripeInvalidRequestError &&
    error.code === 'payment_intent_unexpected_state'
  );
}

/** Fails at cold start on a key that cannot be Stripe's (the config schema only knows it is set). */
export function assertStripeKey(key: string): void {
  if (!/^(sk|rk)_(test|live)_[A-Za-z0-9]+$/.test(key))
    throw new ConfigError(
      'STRIPE_SECRET_KEY must be a Stripe secret or restricted key (sk_live_…, sk_test_…, rk_…)',
    );
}
