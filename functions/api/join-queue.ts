import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { stores } from '../../shared/adapters/dynamo/client.ts';
import { DynamoRoomStore } from '../../shared/adapters/dynamo/room-store.ts';
import { inRouteVerifier } from '../../shared/auth/verify.ts';
import { loadConfig } from '../../shared/config.ts';
import { pathId } from '../../shared/contract.ts';
import { queueHeaders } from '../../shared/http/queue-headers.ts';
import { caller, json, route } from '../../shared/http/route.ts';
import { metrics } from '../../shared/observability.ts';
import { SaleSnapshots } from '../../shared/usecases/sale-snapshots.ts';
import { joinQueue, type RoomDeps } from '../../shared/usecases/waiting-room.ts';

const config = loadConfig('joinQueue');
const { db, sales } = stores(config);
const saleStore = sales();
const rooms = new DynamoRoomStore(db, config.tableName('sales'));
const deps: RoomDeps = {
  sales: saleStore,
  rooms,
  snapshots: new SaleSnapshots(saleStore, rooms, 1_000),
  signingKey: config.signing.TOKEN_SIGNING_KEY,
  observe: (metric, value) => metrics.addMetric(metric, MetricUnit.Count, value),
};

export const handler = route(
  { auth: 'buyer', verifier: inRouteVerifier(config), metrics: true },
  async (event) => {
    const saleId = pathId.parse(event.pathParameters?.saleId);
    const { status, created } = await joinQueue(deps, {
      saleId,
      userId: caller(event).userId,
      now: Date.now(),
    });
    // A new ticket is a created resource: say where its status lives.
    const location: Record<string, string> = created ? { Location: `/sales/${saleId}/queue/me` } : {};
    return json(created ? 201 : 200, status, { ...queueHeaders(status), ...location });
  },
);
