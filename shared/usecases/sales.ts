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
import { newRoom } from '../domain/waiting-room.ts';
import type { SaleStore } from '../ports.ts';
import type { SaleSnapshots } from './sale-snapshots.ts';
import { type RoomView, roomView } from './waiting-room.ts';

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

/**
 * `GET /sales/{id}`: the sale with its live `available` (dispensers read eventually consistent: a
 * display value) and, with a room, the room's summary; from the instance's snapshot, so a crowd
 * reading it costs at most one read of the sale per second per instance.
 */
export async function saleDocument(
  snapshots: SaleSnapshots,
  saleId: string,
  now: number,
): Promise<SaleView & { waitingRoom?: RoomView }> {
  const snapshot = await snapshots.get(saleId, now);
  if (!snapshot) throw saleNotFound(saleId);
  const { sale, available, counts } = snapshot;
  const view = viewOf(sale, available, now);
  if (!sale.waitingRoom || !counts) return view;
  return { ...view, waitingRoom: roomView({ sale, room: sale.waitingRoom, available, counts }, now) };
}
