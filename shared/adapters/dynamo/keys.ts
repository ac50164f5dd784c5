/**
 * Partition keys. On the sales table each dispenser, sweep watermark and buyer counter has its own
 * key, so its own partition; on the claims table each dispenser number has its own unit item.
 */
export const saleKey = (saleId: string) => `SALE#${saleId}`;
export const dispenserKey = (saleId: string, dispenser: number) => `SALE#${saleId}#DISPENSER#${dispenser}`;
/** The reconciler's sweep watermark of one dispenser (written by the reconciler only, never on the buy path). */
export const sweepKey = (saleId: string, dispenser: number) => `SALE#${saleId}#SWEEP#${dispenser}`;
export const counterKey = (saleId: string, userId: string) => `SALE#${saleId}#BUYER#${userId}`;
/** The waiting room: one ticket per buyer and one item per queue-number counter shard, like the stock shards. */
export const ticketKey = (saleId: string, userId: string) => `SALE#${saleId}#TICKET#${userId}`;
export const queueCounterKey = (saleId: string, shard: number) => `SALE#${saleId}#QUEUE#${shard}`;
/** One number of one dispenser, on the claims table: claimed by an order, or marked returned. */
export const unitKey = (saleId: string, dispenser: number, number: number) =>
  `${saleId}#${dispenser}#${number}`;
