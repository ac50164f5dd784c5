import { createHash } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type CancellationReason, type ClaimItem, decodeCancellation } from '../../domain/cancellation.ts';
import {
  DUE_BUCKETS,
  dueBucketOf,
  isTerminal,
  type Order,
  type OrderStatus,
  releasesStock,
} from '../../domain/order.ts';
import { numbersOf } from '../../domain/stock.ts';
import type { BuyerCursor, Claim, ClaimResult, OrderStore, Page, TransitionChange } from '../../ports.ts';
import { isConditionFailure, isTransient, readOrBusy } from './errors.ts';
import { counterKey, dispenserKey, unitKey } from './keys.ts';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** Attributes of the order item that are storage, not order. */
const storageOnly = ['dueBucket', 'dueAt'] as const;

export class DynamoOrderStore implements OrderStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly ordersTable: string,
    /** Resolved on first use: functions that only read orders are not given the sales table. */
    private readonly salesTableName: () => string,
    /** Resolved on first use: only the checkout writes unit items. */
    private readonly claimsTableName: () => string,
  ) {}

  private get salesTable(): string {
    return this.salesTableName();
  }

  private get claimsTable(): string {
    return this.claimsTableName();
  }

  async claim({ order, perUserLimit, dueAt, attempt }: Claim, signal?: AbortSignal): Promise<ClaimResult> {
    const units = numbersOf(order.claimed);
    const layout: ClaimItem[] = [
      { kind: 'order' },
      { kind: 'counter' },
      ...units.map(() => ({ kind: 'unit' as const })),
    ];
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.ordersTable,
          Item: { ...order, dueBucket: dueBucketOf(order.orderId), dueAt },
          ConditionExpression: 'attribute_not_exists(orderId)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      {
        Update: {
          TableName: this.salesTable,
          Key: { pk: counterKey(order.saleId, order.userId) },
          UpdateExpression: 'ADD units :q SET kind = :kind, saleId = :sale, userId = :user',
          ConditionExpression: 'attribute_not_exists(units) OR units <= :max',
          ExpressionAttributeValues: {
            ':q': order.quantity,
            ':max': perUserLimit - order.quantity,
            ':kind': 'counter',
            ':sale': order.saleId,
            ':user': order.userId,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      // A number is sold once: its unit item is put only if neither a claim nor a return marker holds it.
      ...units.map(({ dispenser, number }) => ({
        Put: {
          TableName: this.claimsTable,
          Item: {
            pk: unitKey(order.saleId, dispenser, number),
            saleId: order.saleId,
            dispenser,
            number,
            state: 'claimed',
            orderId: order.orderId,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      })),
    ];
    // The same token for the same order, numbers and attempt: a resend after an unknown outcome
    // (ours or the SDK's) is applied at most once.
    const token = createHash('sha256')
      .update(
        `${order.orderId}|${order.claimed.map((r) => `${r.dispenser}:${r.first}:${r.count}`).join(';')}|${attempt}`,
      )
      .digest('hex')
      .slice(0, 36);
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items, ClientRequestToken: token }), {
        abortSignal: signal,
      });
      return { ok: true };
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'TransactionCanceledException') {
        const reasons = ((error as { CancellationReasons?: RawReason[] }).CancellationReasons ?? []).map(
          decodeReason,
        );
        return { ok: false, ...decodeCancellation(layout, reasons) };
      }
      if (isTransient(error)) return { ok: false, kind: 'unknown' };
      throw error;
    }
  }

  async get(orderId: string, consistent = false, signal?: AbortSignal): Promise<Order | undefined> {
    const { Item } = await readOrBusy(`order ${orderId}`, () =>
      this.db.send(
        new GetCommand({ TableName: this.ordersTable, Key: { orderId }, ConsistentRead: consistent }),
        { abortSignal: signal },
      ),
    );
    return Item ? toOrder(Item) : undefined;
  }

  async listByBuyer(userId: string, limit: number, after?: BuyerCursor): Promise<Page<Order>> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.ordersTable,
        IndexName: 'byBuyer',
        KeyConditionExpression: 'userId = :u',
        ExpressionAttributeValues: { ':u': userId },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: after ? { userId, orderId: after.orderId, createdAt: after.createdAt } : undefined,
      }),
    );
    const last = out.LastEvaluatedKey;
    return {
      items: (out.Items ?? []).map(toOrder),
      ...(last ? { after: { orderId: String(last.orderId), createdAt: String(last.createdAt) } } : {}),
    };
  }

  async transition(order: Order, from: OrderStatus, change: TransitionChange): Promise<Order | undefined> {
    const terminal = isTerminal(change.to);
    const updatedAt = new Date(change.now).toISOString();
    const values: Record<string, unknown> = { ':from': from, ':to': change.to, ':at': updatedAt };
    const sets = ['#status = :to', 'updatedAt = :at'];
    if (change.failureReason) {
      sets.push('failureReason = :reason');
      values[':reason'] = change.failureReason;
    }
    if (change.chargeId) {
      sets.push('chargeId = :charge');
      values[':charge'] = change.chargeId;
    }
    if (!terminal && change.dueAt !== undefined) {
      sets.push('dueAt = :due');
      values[':due'] = change.dueAt;
    }
    if (change.jobSentAt !== undefined) {
      sets.push('jobSentAt = :sent');
      values[':sent'] = change.jobSentAt;
    }
    const update = {
      TableName: this.ordersTable,
      Key: { orderId: order.orderId },
      UpdateExpression: `SET ${sets.join(', ')}${terminal ? ' REMOVE dueBucket, dueAt' : ''}`,
      ConditionExpression: '#status = :from',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: values,
    };
    const next: Order = {
      ...order,
      status: change.to,
      updatedAt,
      ...(change.failureReason ? { failureReason: change.failureReason } : {}),
      ...(change.chargeId ? { chargeId: change.chargeId } : {}),
      ...(change.jobSentAt !== undefined ? { jobSentAt: change.jobSentAt } : {}),
    };
    if (!releasesStock(change.to)) {
      try {
        await this.db.send(new UpdateCommand(update));
        return next;
      } catch (error) {
        if (isConditionFailure(error)) return undefined;
        throw error;
      }
    }
    const release: TransactItem[] = [
      { Update: update },
      // The units come back as new numbers on one dispenser, chosen per order so releases spread.
      {
        Update: {
          TableName: this.salesTable,
          Key: { pk: dispenserKey(order.saleId, order.releaseTo) },
          UpdateExpression: 'ADD cap :n, available :n',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':n': order.quantity },
        },
      },
      {
        Update: {
          TableName: this.salesTable,
          Key: { pk: counterKey(order.saleId, order.userId) },
          UpdateExpression: 'ADD units :n',
          ConditionExpression: 'units >= :q',
          ExpressionAttributeValues: { ':n': -order.quantity, ':q': order.quantity },
        },
      },
    ];
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: release }));
        return next;
      } catch (error) {
        const reasons = (error as { CancellationReasons?: RawReason[] }).CancellationReasons;
        if (reasons?.[0]?.Code === 'ConditionalCheckFailed') return undefined;
        const contended = reasons?.some((r) => r.Code === 'TransactionConflict');
        if (!contended || attempt >= 5) throw error;
        await sleep(Math.random() * 20 * 2 ** attempt);
      }
    }
  }

  async reschedule(order: Order, status: OrderStatus, dueAt: number, jobSentAt?: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.ordersTable,
          Key: { orderId: order.orderId },
          UpdateExpression:
            jobSentAt === undefined ? 'SET dueAt = :due' : 'SET dueAt = :due, jobSentAt = :sent',
          ConditionExpression: '#status = :status',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':due': dueAt,
            ':status': status,
            ...(jobSentAt === undefined ? {} : { ':sent': jobSentAt }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async startPayment(order: Order, now: number, deadline: number, dueAt: number): Promise<Order | undefined> {
    const startedAt = new Date(now).toISOString();
    const expiresAt = new Date(deadline).toISOString();
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.ordersTable,
          Key: { orderId: order.orderId },
          UpdateExpression: 'SET paymentStartedAt = :started, expiresAt = :expires, dueAt = :due',
          ConditionExpression: '#status = :pending AND attribute_not_exists(paymentStartedAt)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':started': startedAt,
            ':expires': expiresAt,
            ':due': dueAt,
            ':pending': 'PAYMENT_PENDING',
          },
        }),
      );
      return { ...order, paymentStartedAt: startedAt, expiresAt };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.get(order.orderId, true);
      return current?.status === 'PAYMENT_PENDING' ? current : undefined;
    }
  }

  /**
   * Pages through every bucket of the byDue index, all buckets at once per round, each past its
   * own Limit, until none has more due; the caller stops whenever its budget says so.
   */
  async *due(now: number, pageSize: number): AsyncIterable<Order[]> {
    let open: { bucket: number; start?: Record<string, unknown> }[] = Array.from(
      { length: DUE_BUCKETS },
      (_, bucket) => ({ bucket }),
    );
    while (open.length > 0) {
      const pages = await Promise.all(
        open.map(async ({ bucket, start }) => {
          const out = await this.db.send(
            new QueryCommand({
              TableName: this.ordersTable,
              IndexName: 'byDue',
              KeyConditionExpression: 'dueBucket = :b AND dueAt <= :now',
              ExpressionAttributeValues: { ':b': String(bucket), ':now': now },
              Limit: pageSize,
              ExclusiveStartKey: start,
            }),
          );
          return { bucket, items: out.Items ?? [], start: out.LastEvaluatedKey };
        }),
      );
      const items = pages.flatMap((page) => page.items.map(toOrder));
      if (items.length > 0) yield items;
      open = pages.flatMap(({ bucket, start }) => (start ? [{ bucket, start }] : []));
    }
  }

  async awaitRefundCheck(order: Order, status: OrderStatus, dueAt: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.ordersTable,
          Key: { orderId: order.orderId },
          UpdateExpression: 'SET dueBucket = :bucket, dueAt = :due',
          ConditionExpression: '#status = :status',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':bucket': dueBucketOf(order.orderId),
            ':due': dueAt,
            ':status': status,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async refundChecked(order: Order, status: OrderStatus): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.ordersTable,
          Key: { orderId: order.orderId },
          UpdateExpression: 'REMOVE dueBucket, dueAt',
          ConditionExpression: '#status = :status',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': status },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}

type RawReason = { Code?: string; Message?: string; Item?: Record<string, AttributeValue> };

function decodeReason(reason: RawReason): CancellationReason {
  // Errors are not unmarshalled by the document client: the old item arrives as AttributeValues.
  return {
    Code: reason.Code,
    Message: reason.Message,
    Item: reason.Item ? unmarshall(reason.Item) : undefined,
  };
}

export function toOrder(item: Record<string, unknown>): Order {
  const copy = { ...item };
  for (const key of storageOnly) delete copy[key];
  return copy as unknown as Order;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
