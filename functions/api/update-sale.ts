import { stores } from '../../shared/adapters/dynamo/client.ts';
import { DynamoRoomStore } from '../../shared/adapters/dynamo/room-store.ts';
import { inRouteVerifier } from '../../shared/auth/verify.ts';
import { loadConfig } from '../../shared/config.ts';
import { pathId, updateSaleBody } from '../../shared/contract.ts';
import { json, route } from '../../shared/http/route.ts';
import { traced } from '../../shared/tracing.ts';
import { updateRoom } from '../../shared/usecases/waiting-room.ts';

const config = loadConfig('updateSale');
const { db, sales } = stores(config);
const deps = { sales: sales(), rooms: new DynamoRoomStore(db, config.tableName('sales')) };

export const handler = route(
  { auth: 'admin', verifier: inRouteVerifier(config), tracing: traced(), jsonBody: true },
  async (event) => {
    const body = updateSaleBody.parse(event.body);
    const room = await updateRoom(deps, {
      saleId: pathId.parse(event.pathParameters?.saleId),
      change: body.waitingRoom,
      now: Date.now(),
    });
    return json(200, { waitingRoom: room });
  },
);
