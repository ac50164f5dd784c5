/** Partition keys of the sales table. Each shard and counter has its own key, so its own partition. */
export const saleKey = (saleId: string) => `SALE#${saleId}`;
export const shardKey = (saleId: string, shard: number) => `SALE#${saleId}#SHARD#${shard}`;
export const counterKey = (saleId: string, userId: string) => `SALE#${saleId}#BUYER#${userId}`;
