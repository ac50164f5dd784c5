import { randomUUID } from 'node:crypto';
import type { CreateSaleBody } from '../contract.ts';
import { DomainError, saleNotFound } from '../domain/errors.ts';
import {
  DEFAULT_HOLD_SECONDS,
  deriveDispenserCount,
  type Sale,
  type SaleView,
  splitStock,
  viewOf,
} from '../domain/sale.ts';
import { remainingOf } from '../domain/stock.ts';
import { newRoom } from '../domain/waiting-room.ts';
import type { SaleStore } from '../ports.ts';

export async function createSale(sales: SaleStore, input: CreateSaleBody, now: number): Promise<SaleView> {
  const shards = input.shards ?? deriveDispenserCount(input.totalStock);
  const sale: Sale = {
    saleId: input.saleId ?? `sale_${randomUUID().replaceAll('-', '').slice(0, 16)}`,
    name: input.name,
    price: input.price,
    currency: input.currency,
    totalStock: input.totalStock,
    perUserLimit: input.perUserLimit,
    startsAt: new Date(input.startsAt).toISOString(),
    endsAt: new Date(input.endsAt).toISOString(),
    shards,
    holdSeconds: input.holdSeconds ?? DEFAULT_HOLD_SECONDS,
    createdAt: new Date(now).toISOString(),
  };
  if (input.waitingRoom) sale.waitingRoom = newRoom(input.waitingRoom, sale);
  const created = await sales.create(sale, splitStock(sale.totalStock, shards));
  if (!created) throw new DomainError('SALE_EXISTS', `Sale ${sale.saleId} already exists`);
  return viewOf(sale, sale.totalStock, now);
}

/** Live view: `available` is what the dispensers still offer, read eventually consistent (a display value). */
export async function getSaleView(sales: SaleStore, saleId: string, now: number): Promise<SaleView> {
  const sale = await sales.get(saleId);
  if (!sale) throw saleNotFound(saleId);
  const dispensers = await sales.readDispensers(saleId, sale.shards, false);
  return viewOf(
    sale,
    dispensers.reduce((sum, d) => sum + remainingOf(d), 0),
    now,
  );
}
