import { stores } from '../../shared/adapters/dynamo/client.ts';
import { loadConfig } from '../../shared/config.ts';
import { pathId } from '../../shared/contract.ts';
import { json, route } from '../../shared/http/route.ts';
import { traced } from '../../shared/tracing.ts';
import { getSaleView } from '../../shared/usecases/sales.ts';

const sales = stores(loadConfig('getSale')).sales();

export const handler = route({ auth: 'public', tracing: traced() }, async (event) =>
  json(200, await getSaleView(sales, pathId.parse(event.pathParameters?.saleId), Date.now())),
);
