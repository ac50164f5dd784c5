import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { stores } from '../../shared/adapters/dynamo/client.ts';
import { DynamoRoomStore } from '../../shared/adapters/dynamo/room-store.ts';
import { inRouteVerifier } from '../../shared/auth/verify.ts';
import { loadConfig } from '../../shared/config.ts';
import { pathId } from '../../shared/contract.ts';
import { queueHeaders } from '../../shared/http/queue-headers.ts';
import { caller, json, route, singleHeader } from '../../shared/http/route.ts';
import { metrics } from '../../shared/observability.ts';
import { TICKET_HEADER } from '../../shared/usecases/room-tickets.ts';
import { SaleSnapshots } from '../../shared/usecases/sale-snapshots.ts';
import { queueStatus, type RoomDeps, roomView } from '../../shared/usecases/waiting-room.ts';

const config = loadConfig('queueStatus');
const { db, sales } = stores(config);
const saleStore = sales();
const rooms = new DynamoRoomStore(db, config.tableName('sales'));
const count = (metric: string, value: number) => metrics.addMetric(metric, MetricUnit.Count, value);
const deps: RoomDeps = {
  sales: saleStore,
  rooms,
  // Gauges sampled once per snapshot (≤ 1/s per instance); the dashboard reads their Maximum.
  snapshots: new SaleSnapshots(saleStore, rooms, 1_000, ({ sale, available, counts }, now) => {
    if (!sale.waitingRoom) return;
    const view = roomView({ sale, room: sale.waitingRoom, available, counts }, now);
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
      signedTicket: singleHeader(event, TICKET_HEADER),
    });
    return json(200, status, queueHeaders(status));
  },
);
