import { stores } from '../../shared/adapters/dynamo/client.ts';
import { DynamoRoomStore } from '../../shared/adapters/dynamo/room-store.ts';
import { loadConfig } from '../../shared/config.ts';
import { pathId } from '../../shared/contract.ts';
import { publicCacheHeaders } from '../../shared/http/public-cache.ts';
import { json, route } from '../../shared/http/route.ts';
import { traced } from '../../shared/tracing.ts';
import { SaleSnapshots } from '../../shared/usecases/sale-snapshots.ts';
import { saleDocument } from '../../shared/usecases/sales.ts';

const config = loadConfig('getSale');
const { db, sales } = stores(config);
const snapshots = new SaleSnapshots(sales(), new DynamoRoomStore(db, config.tableName('sales')), 1_000);
const cacheHeaders = publicCacheHeaders(config.public.PUBLIC_MAX_AGE_SECONDS);

export const handler = route({ auth: 'public', tracing: traced() }, async (event) => {
  const sale = await saleDocument(snapshots, pathId.parse(event.pathParameters?.saleId), Date.now());
  return json(200, sale, cacheHeaders);
});
