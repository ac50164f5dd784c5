import { stores } from '../../shared/adapters/dynamo/client.ts';
import { inRouteVerifier } from '../../shared/auth/verify.ts';
import { loadConfig } from '../../shared/config.ts';
import { createSaleBody } from '../../shared/contract.ts';
import { json, route } from '../../shared/http/route.ts';
import { traced } from '../../shared/tracing.ts';
import { createSale } from '../../shared/usecases/sales.ts';

const config = loadConfig('createSale');
const sales = stores(config).sales();

export const handler = route(
  { auth: 'admin', verifier: inRouteVerifier(config), tracing: traced(), jsonBody: true },
  async (event) => {
    const sale = await createSale(sales, createSaleBody.parse(event.body), Date.now());
    return json(201, sale, { Location: `/sales/${sale.saleId}` });
  },
);
