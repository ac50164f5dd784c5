import { invalid } from './errors.ts';
import type { Room } from './waiting-room.ts';

export type SaleStatus = 'SCHEDULED' | 'ACTIVE' | 'SOLD_OUT' | 'ENDED';

/** Sale metadata as stored. Stock lives in the dispensers, never here. */
export interface Sale {
  saleId: string;
  name: string;
  price: number;
  currency: string;
  totalStock: number;
  perUserLimit: number;
  startsAt: string;
  endsAt: string;
  /** How many dispensers hold the stock (the API's `shards` field, kept under its first name). */
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
/** One sale's dispensers are created in one transaction with the sale item (100 items at most). */
export const MAX_DISPENSERS = 64;
/**
 * Units per dispenser when the count is derived: a dispenser takes ~1,000 plain updates/s, so a
 * large sale gets the most dispensers (64 ≈ 64,000 takes/s of headroom); a small one still gets
 * several, since a buyer never waits on a dispenser that runs dry (the checkout reads the truth).
 */
const UNITS_PER_DISPENSER = 10;

export function deriveDispenserCount(totalStock: number): number {
  return Math.max(1, Math.min(MAX_DISPENSERS, Math.ceil(totalStock / UNITS_PER_DISPENSER)));
}

/** Splits stock as evenly as possible; the first dispensers take the remainder. */
export function splitStock(totalStock: number, dispensers: number): number[] {
  if (!Number.isInteger(dispensers) || dispensers < 1 || dispensers > MAX_DISPENSERS) {
    throw invalid(`shards (dispensers) must be an integer from 1 to ${MAX_DISPENSERS}`);
  }
  if (dispensers > Math.max(1, totalStock))
    throw invalid('shards must not exceed totalStock', [
      { path: 'shards', message: 'more dispensers than units' },
    ]);
  const base = Math.floor(totalStock / dispensers);
  const remainder = totalStock % dispensers;
  return Array.from({ length: dispensers }, (_, i) => base + (i < remainder ? 1 : 0));
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
