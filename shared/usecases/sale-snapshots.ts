import type { Sale } from '../domain/sale.ts';
import { remainingOf } from '../domain/stock.ts';
import type { Counts } from '../domain/waiting-room.ts';
import type { SaleStore } from '../ports.ts';

/** What the public reads need: the sale, its live stock, and (with a room) the joiner counts. */
export interface SaleSnapshot {
  sale: Sale;
  available: number;
  /** Present when the sale has a waiting room. */
  counts?: Counts;
}

export interface CountsReader {
  readCounts(saleId: string, shards: number): Promise<Counts>;
}

/**
 * One read of a sale's public facts (the sale item, its dispensers eventually consistent, the
 * room's counter shards), shared by every request of this instance for `ttlMs`: concurrent
 * requests wait for the same read. `GET /sales/{id}`, the room document and the status route
 * all answer from it, so a poll costs at most one read per second per instance, and with the
 * edge in front (README "Waiting room") far less.
 */
export class SaleSnapshots {
  private readonly entries = new Map<string, { value: Promise<SaleSnapshot | undefined>; until: number }>();

  constructor(
    private readonly sales: SaleStore,
    private readonly rooms: CountsReader,
    private readonly ttlMs: number,
    /** Called once per fresh read of a sale with a room (≤ once per `ttlMs` per instance): room gauges. */
    private readonly onRefresh?: (snapshot: SaleSnapshot & { counts: Counts }, now: number) => void,
  ) {}

  /** undefined: no such sale. */
  get(saleId: string, now: number): Promise<SaleSnapshot | undefined> {
    const entry = this.entries.get(saleId);
    if (entry && entry.until > now) return entry.value;
    const value = this.read(saleId, now);
    if (this.entries.size > 10_000) this.entries.clear();
    this.entries.set(saleId, { value, until: now + this.ttlMs });
    value.catch(() => this.entries.delete(saleId));
    return value;
  }

  private async read(saleId: string, now: number): Promise<SaleSnapshot | undefined> {
    const sale = await this.sales.get(saleId);
    if (!sale) return undefined;
    const [dispensers, counts] = await Promise.all([
      this.sales.readDispensers(saleId, sale.shards, false),
      sale.waitingRoom ? this.rooms.readCounts(saleId, sale.waitingRoom.counterShards) : undefined,
    ]);
    const available = dispensers.reduce((sum, d) => sum + remainingOf(d), 0);
    if (!counts) return { sale, available };
    const snapshot = { sale, available, counts };
    this.onRefresh?.(snapshot, now);
    return snapshot;
  }
}
