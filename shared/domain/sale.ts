import { invalid } from './errors.ts';
import type { Room } from './waiting-room.ts';

export type SaleStatus = 'SCHEDULED' | 'ACTIVE' | 'SOLD_OUT' | 'ENDED';

/** Sale metadata as stored. Stock lives in the shards, never here. */
export interface Sale {
  saleId: string;
  name: string;
  price: number;
  currency: string;
  totalStock: number;
  perUserLimit: number;
  startsAt: string;
  endsAt: string;
  shards: number;
  holdSeconds: number;
  createdAt: string;
  /** Present when the sale opted into a waiting room (shared/domain/waiting-room.ts). */
  waitingRoom?: Room;
}

export interface SaleView extends Omit<Sale, 'shards' | 'holdSeconds' | 'createdAt' | 'waitingRoom'> {
  available: number;
  status: SaleStatus;
}

export const DEFAULT_HOLD_SECONDS = 600;
export const MAX_SHARDS = 50;
/** Units per shard when the shard count is derived: enough shards to spread writes, few enough that a shard rarely runs dry while others hold stock. */
const UNITS_PER_SHARD = 25;
const DERIVED_SHARD_CAP = 32;

export function deriveShardCount(totalStock: number): number {
  return Math.max(1, Math.min(DERIVED_SHARD_CAP, Math.ceil(totalStock / UNITS_PER_SHARD)));
}

/** Splits stock as evenly as possible; the first shards take the remainder. */
export function splitStock(totalStock: number, shards: number): number[] {
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
    throw invalid(`shards must be an integer from 1 to ${MAX_SHARDS}`);
  }
  if (shards > Math.max(1, totalStock))
    throw invalid('shards must not exceed totalStock', [
      { path: 'shards', message: 'more shards than units' },
    ]);
  const base = Math.floor(totalStock / shards);
  const remainder = totalStock % shards;
  return Array.from({ length: shards }, (_, i) => base + (i < remainder ? 1 : 0));
}

export function isOpen(sale: Pick<Sale, 'startsAt' | 'endsAt'>, now: number): boolean {
  return Date.parse(sale.startsAt) <= now && now < Date.parse(sale.endsAt);
}

export function saleStatus(
  sale: Pick<Sale, 'startsAt' | 'endsAt'>,
  available: number,
  now: number,
): SaleStatus {
  if (now < Date.parse(sale.startsAt)) return 'SCHEDULED';
  if (now >= Date.parse(sale.endsAt)) return 'ENDED';
  return available > 0 ? 'ACTIVE' : 'SOLD_OUT';
}

export function viewOf(sale: Sale, available: number, now: number): SaleView {
  const { saleId, name, price, currency, totalStock, perUserLimit, startsAt, endsAt } = sale;
  return {
    saleId,
    name,
    price,
    currency,
    totalStock,
    available,
    perUserLimit,
    startsAt,
    endsAt,
    status: saleStatus(sale, available, now),
  };
}
