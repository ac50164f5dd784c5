import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  type ChargeOutcome,
  type ChargeState,
  type PaymentGateway,
  type ProcessorLimits,
  ProcessorRateLimitedError,
  TransientPaymentError,
} from '../../ports.ts';
import { isConditionFailure } from '../dynamo/errors.ts';

export interface SimulatedGatewayOptions {
  latencyMs: number;
  /** Charges a second the processor accepts (counted on arrival); above it, 429. 0 = no limit. */
  rateLimit: number;
  declineRate: number;
  errorRate: number;
  random?: () => number;
}

const LEDGER_RETENTION_SECONDS = 30 * 24 * 3600;

/**
 * A payment processor stand-in driven by the token, like card-network test tokens:
 *   tok_ok → approved, tok_decline → declined, tok_timeout / tok_error → transient failure,
 *   tok_flaky_N → transient failure on the first N attempts, then approved.
 * Other tokens follow the configured random decline and error rates. Its ledger is a DynamoDB
 * table keyed by idempotency key, so a repeated charge returns the first outcome, across
 * processes and under concurrency. It plays a real processor's limits: each charge takes
 * `latencyMs` (0.5–1.5×), and with `rateLimit` it counts arrivals per second (`rate#<second>` items,
 * shared by every caller) and refuses those above the limit with a 429 (ProcessorRateLimitedError).
 */
export class SimulatedPaymentGateway implements PaymentGateway {
  private readonly random: () => number;
  readonly limits: ProcessorLimits;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly ledger: string,
    private readonly options: SimulatedGatewayOptions,
  ) {
    this.random = options.random ?? Math.random;
    this.limits = {
      latencyMs: options.latencyMs,
      ratePerSecond: options.rateLimit > 0 ? options.rateLimit : Number.POSITIVE_INFINITY,
    };
  }

  /** Counts this arrival in its second; a 429 (nothing charged) when the second is over the limit. */
  private async admit(): Promise<void> {
    if (this.options.rateLimit <= 0) return;
    const now = Date.now();
    const second = Math.floor(now / 1000);
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.ledger,
        Key: { idempotencyKey: `rate#${second}` },
        UpdateExpression: 'ADD arrivals :one SET expiresAtEpoch = :ttl',
        ExpressionAttributeValues: { ':one': 1, ':ttl': second + 3_600 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    if (Number(out.Attributes?.arrivals) > this.options.rateLimit)
      throw new ProcessorRateLimitedError(
        `more than ${this.options.rateLimit} charges in one second`,
        (second + 1) * 1000 - now,
      );
  }

  async charge(request: {
    idempotencyKey: string;
    amount: number;
    currency: string;
    paymentToken: string;
  }): Promise<ChargeOutcome> {
    await this.admit();
    if (this.options.latencyMs > 0) await sleep(this.options.latencyMs * (0.5 + this.random()));

    // Count the attempt first: the count drives tok_flaky_N and shows retries in the ledger. A key
    // already settled fails the condition and comes back with its outcome, so a replay costs one
    // call and a first charge two (the ledger is read only when that answer lacks the item).
    let attempts: number;
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.ledger,
          Key: { idempotencyKey: request.idempotencyKey },
          UpdateExpression:
            'ADD attempts :one SET amount = :amount, currency = :currency, expiresAtEpoch = :ttl',
          ConditionExpression: 'attribute_not_exists(outcome)',
          ExpressionAttributeValues: {
            ':one': 1,
            ':amount': request.amount,
            ':currency': request.currency,
            ':ttl': Math.floor(Date.now() / 1000) + LEDGER_RETENTION_SECONDS,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      attempts = Number(out.Attributes?.attempts ?? 1);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const old = (error as { Item?: Record<string, AttributeValue> }).Item;
      return outcomeOf(old ? unmarshall(old) : undefined) ?? this.mustBeSettled(request.idempotencyKey);
    }

    const decision = this.decide(request.paymentToken, attempts);
    if (decision === 'transient')
      throw new TransientPaymentError(
        `Processor unavailable for ${request.paymentToken} (attempt ${attempts})`,
      );

    const outcome: ChargeOutcome =
      decision === 'approved'
        ? { status: 'approved', chargeId: `ch_${request.idempotencyKey}` }
        : { status: 'declined', reason: 'card_declined' };
    try {
      // First outcome wins: a concurrent charge with the same key gets this one back.
      await this.db.send(
        new UpdateCommand({
          TableName: this.ledger,
          Key: { idempotencyKey: request.idempotencyKey },
          UpdateExpression: 'SET outcome = :outcome, chargeId = :charge, reason = :reason, settledAt = :at',
          ConditionExpression: 'attribute_not_exists(outcome)',
          ExpressionAttributeValues: {
            ':outcome': outcome.status,
            ':charge': outcome.status === 'approved' ? outcome.chargeId : null,
            ':reason': outcome.status === 'declined' ? outcome.reason : null,
            ':at': new Date().toISOString(),
          },
        }),
      );
      return outcome;
    } catch (error) {
      if (isConditionFailure(error)) return this.mustBeSettled(request.idempotencyKey);
      throw error;
    }
  }

  /** Idempotent: a repeated refund of the same charge sets the same flag again and moves no money. */
  async refund(idempotencyKey: string, reason: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.ledger,
        Key: { idempotencyKey },
        UpdateExpression: 'SET refunded = :yes, refundReason = :reason',
        ConditionExpression: 'outcome = :approved',
        ExpressionAttributeValues: { ':yes': true, ':reason': reason, ':approved': 'approved' },
      }),
    );
  }

  async lookup(idempotencyKey: string): Promise<ChargeState> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.ledger, Key: { idempotencyKey }, ConsistentRead: true }),
    );
    if (!Item) return { status: 'none' };
    if (Item.outcome === 'approved')
      return { status: 'approved', chargeId: String(Item.chargeId), refunded: Item.refunded === true };
    if (Item.outcome === 'declined') return { status: 'declined' };
    return { status: 'pending' };
  }

  private decide(token: string, attempts: number): 'approved' | 'declined' | 'transient' {
    if (token === 'tok_ok') return 'approved';
    if (token === 'tok_decline') return 'declined';
    if (token === 'tok_timeout' || token === 'tok_error') return 'transient';
    const flaky = /^tok_flaky_(\d+)$/.exec(token);
    if (flaky) return attempts <= Number(flaky[1]) ? 'transient' : 'approved';
    const roll = this.random();
    if (roll < this.options.errorRate) return 'transient';
    if (roll < this.options.errorRate + this.options.declineRate) return 'declined';
    return 'approved';
  }

  private async mustBeSettled(idempotencyKey: string): Promise<ChargeOutcome> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.ledger, Key: { idempotencyKey }, ConsistentRead: true }),
    );
    const settled = outcomeOf(Item);
    if (!settled)
      throw new TransientPaymentError(`Ledger entry ${idempotencyKey} changed under a concurrent charge`);
    return settled;
  }
}

function outcomeOf(item: Record<string, unknown> | undefined): ChargeOutcome | undefined {
  if (item?.outcome === 'approved') return { status: 'approved', chargeId: String(item.chargeId) };
  if (item?.outcome === 'declined') return { status: 'declined', reason: String(item.reason) };
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
