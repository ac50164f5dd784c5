import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ChargePacer } from '../../ports.ts';
import { isConditionFailure } from '../dynamo/errors.ts';

/** One window item takes at most this many slots a second, well under a partition's 1,000 writes/s. */
const SLOTS_PER_ITEM = 500;
/** No slot is taken this close to a second's end: the charge must reach the processor inside it. */
const END_GUARD_MS = 100;
/** Waiters for the next second wake spread over its first this-many ms, not all at once. */
const WAKE_SPREAD_MS = 200;
const WINDOW_RETENTION_SECONDS = 3_600;

/**
 * The processor's rate, shared by every instance of the payment consumer: one counter item per
 * second (split over ceil(rate / 500) items, each allowed its share), taken by a conditional
 * increment. A full second makes the caller wait for the next one. In AWS many payment Lambdas run
 * at once and none sees the others' calls: only a count they all share keeps the total within the
 * processor's limit whatever its latency does (a concurrency cap alone lets a processor that
 * answers faster than expected be flooded). Items live in the payments table under `pace#…` keys.
 */
export class DynamoChargePacer implements ChargePacer {
  private readonly items: number;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly ratePerSecond: number,
    private readonly random: () => number = Math.random,
  ) {
    if (!Number.isInteger(ratePerSecond) || ratePerSecond < 1)
      throw new Error(`a charge pacer needs a whole rate of at least 1 a second, not ${ratePerSecond}`);
    this.items = Math.ceil(ratePerSecond / SLOTS_PER_ITEM);
  }

  async acquire(until: number): Promise<number | undefined> {
    for (;;) {
      const now = Date.now();
      const second = Math.floor(now / 1000);
      const sendBy = (second + 1) * 1000 - END_GUARD_MS;
      // Taken only if the charge can still leave inside this second once the slot is ours.
      if (now < sendBy && (await this.takeIn(second)) && Date.now() < sendBy) return sendBy;
      const wake = (second + 1) * 1000 + this.random() * WAKE_SPREAD_MS;
      if (wake >= until) return undefined;
      await sleep(wake - Date.now());
    }
  }

  private async takeIn(second: number): Promise<boolean> {
    const first = Math.floor(this.random() * this.items);
    for (let i = 0; i < this.items; i++) {
      const item = (first + i) % this.items;
      if (await this.take(second, item)) return true;
    }
    return false;
  }

  private async take(second: number, item: number): Promise<boolean> {
    const share =
      Math.floor(this.ratePerSecond / this.items) + (item < this.ratePerSecond % this.items ? 1 : 0);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { idempotencyKey: `pace#${second}#${item}` },
          UpdateExpression: 'ADD used :one SET expiresAtEpoch = :ttl',
          ConditionExpression: 'attribute_not_exists(used) OR used < :share',
          ExpressionAttributeValues: {
            ':one': 1,
            ':share': share,
            ':ttl': second + WINDOW_RETENTION_SECONDS,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

/** The pacer of a processor without a rate limit. */
export const unpaced: ChargePacer = { acquire: async () => Number.POSITIVE_INFINITY };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
