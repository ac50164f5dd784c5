import { stores } from '../../shared/adapters/dynamo/client.ts';
import { inRouteVerifier } from '../../shared/auth/verify.ts';
import { loadConfig } from '../../shared/config.ts';
import { pathId } from '../../shared/contract.ts';
import { viewOfOrder } from '../../shared/domain/order.ts';
import { caller, json, route } from '../../shared/http/route.ts';
import { traced } from '../../shared/tracing.ts';
import { getOrderFor } from '../../shared/usecases/orders.ts';

const config = loadConfig('getOrder');
const orders = stores(config).orders();

export const handler = route(
  { auth: 'buyer', verifier: inRouteVerifier(config), tracing: traced() },
  async (event) =>
    json(
      200,
      viewOfOrder(await getOrderFor(orders, caller(event), pathId.parse(event.pathParameters?.orderId))),
    ),
);
