import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Counts, Room, Ticket } from '../../domain/waiting-room.ts';
import type { RoomStore } from '../../usecases/waiting-room.ts';
import { batchGetAll } from './batch-get.ts';
import { isConditionFailure } from './errors.ts';
import { queueCounterKey, saleKey, ticketKey } from './keys.ts';

// DynamoDB refuses unused names, so each update names exactly what it touches.
const itemNames = { '#kind': 'kind', '#sale': 'saleId', '#shard': 'shard' };

export class DynamoRoomStore implements RoomStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async getTicket(saleId: string, userId: string): Promise<Ticket | undefined> {
    // Strongly consistent: a buyer who just joined must find the ticket on the next poll.
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { pk: ticketKey(saleId, userId) }, ConsistentRead: true }),
    );
    return Item ? ticketOf(Item) : undefined;
  }

  async putTicket(ticket: Ticket): Promise<{ ticket: Ticket; created: boolean }> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk: ticketKey(ticket.saleId, ticket.userId), kind: 'ticket', ...ticket },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { ticket, created: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // The buyer joined twice at once: the first ticket stands (the second number is a harmless gap).
      const existing = await this.getTicket(ticket.saleId, ticket.userId);
      if (!existing) throw new Error(`Ticket for ${ticket.userId} refused as existing but not found`);
      return { ticket: existing, created: false };
    }
  }

  async takeNumber(saleId: string, shard: number): Promise<number> {
    const out = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: queueCounterKey(saleId, shard) },
        UpdateExpression: 'ADD #next :one SET #kind = :kind, #sale = :sale, #shard = :shard',
        ExpressionAttributeNames: { ...itemNames, '#next': 'next' },
        ExpressionAttributeValues: { ':one': 1, ':kind': 'queue', ':sale': saleId, ':shard': shard },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes?.next);
  }

  async countPreStart(saleId: string, shard: number): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: queueCounterKey(saleId, shard) },
        UpdateExpression: 'ADD #preStart :one SET #kind = :kind, #sale = :sale, #shard = :shard',
        ExpressionAttributeNames: { ...itemNames, '#preStart': 'preStart' },
        ExpressionAttributeValues: { ':one': 1, ':kind': 'queue', ':sale': saleId, ':shard': shard },
      }),
    );
  }

  async readCounts(saleId: string, shards: number): Promise<Counts> {
    const counts: Counts = { preStart: 0, counters: new Array<number>(shards).fill(0) };
    const keys = Array.from({ length: shards }, (_, shard) => ({ pk: queueCounterKey(saleId, shard) }));
    const items = await batchGetAll(this.db, this.table, keys, {
      projection: '#shard, #next, #preStart',
      names: { '#shard': 'shard', '#next': 'next', '#preStart': 'preStart' },
    });
    for (const item of items) {
      counts.preStart += Number(item.preStart ?? 0);
      counts.counters[Number(item.shard)] = Number(item.next ?? 0);
    }
    return counts;
  }

  async saveRoom(saleId: string, room: Room): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: saleKey(saleId) },
          UpdateExpression: 'SET waitingRoom = :room',
          ConditionExpression: 'waitingRoom.revision = :previous',
          ExpressionAttributeValues: { ':room': room, ':previous': room.revision - 1 },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

function ticketOf(item: Record<string, unknown>): Ticket {
  return {
    saleId: String(item.saleId),
    userId: String(item.userId),
    joinedAt: Number(item.joinedAt),
    draw: item.draw as Ticket['draw'],
  };
}
