import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { stores } from '../../shared/adapters/dynamo/client.ts';
import { DynamoRoomStore } from '../../shared/adapters/dynamo/room-store.ts';
import { inRouteVerifier } from '../../shared/auth/verify.ts';
import { loadConfig } from '../../shared/config.ts';
import { pathId } from '../../shared/contract.ts';
import { queueHeaders } from '../../shared/http/queue-headers.ts';
import { caller, json, route } from '../../shared/http/route.ts';
import { metrics } from '../../shared/observability.ts';
import { queueStatus, type RoomDeps, RoomSnapshots } from '../../shared/usecases/waiting-room.ts';

const config = loadConfig('queueStatus');
const { db, sales } = stores(config);
const saleStore = sales();
const rooms = new DynamoRoomStore(db, config.tableName('sales'));
const count = (metric: string, value: number) => metrics.addMetric(metric, MetricUnit.Count, value);
const deps: RoomDeps = {
  sales: saleStore,
  rooms,
  // Gauges sampled once per snapshot (≤ 1/s per instance); the dashboard reads their Maximum.
  snapshots: new RoomSnapshots(saleStore, rooms, 1_000, (view) => {
    count('queueWaiting', view.waiting);
    count('queueAdmittedUnused', view.admittedUnused);
  }),
  signingKey: config.signing.TOKEN_SIGNING_KEY,
  observe: count,
};

export const handler = route(
  { auth: 'buyer', verifier: inRouteVerifier(config), metrics: true },
  async (event) => {
    const status = await queueStatus(deps, {
      saleId: pathId.parse(event.pathParameters?.saleId),
      userId: caller(event).userId,
      now: Date.now(),
    });
    return json(200, status, queueHeaders(status));
  },
);
