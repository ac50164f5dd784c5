import { stores } from '../../shared/adapters/dynamo/client.ts';
import { DynamoRoomStore } from '../../shared/adapters/dynamo/room-store.ts';
import { loadConfig } from '../../shared/config.ts';
import { pathId } from '../../shared/contract.ts';
import { json, route } from '../../shared/http/route.ts';
import { traced } from '../../shared/tracing.ts';
import { getSaleView } from '../../shared/usecases/sales.ts';
import { describeRoom, RoomSnapshots } from '../../shared/usecases/waiting-room.ts';

const config = loadConfig('getSale');
const { db, sales: saleStore } = stores(config);
const sales = saleStore();
const rooms = new RoomSnapshots(sales, new DynamoRoomStore(db, config.tableName('sales')), 1_000);

export const handler = route({ auth: 'public', tracing: traced() }, async (event) => {
  const saleId = pathId.parse(event.pathParameters?.saleId);
  const now = Date.now();
  const view = await getSaleView(sales, saleId, now);
  const waitingRoom = await describeRoom(rooms, saleId, now);
  return json(200, waitingRoom ? { ...view, waitingRoom } : view);
});
