import { stores } from '../../shared/adapters/dynamo/client.ts';
import { signedTokens } from '../../shared/auth/signed-token.ts';
import { inRouteVerifier } from '../../shared/auth/verify.ts';
import { loadConfig } from '../../shared/config.ts';
import { listOrdersQuery } from '../../shared/contract.ts';
import { viewOfOrder } from '../../shared/domain/order.ts';
import { caller, json, route } from '../../shared/http/route.ts';
import { traced } from '../../shared/tracing.ts';
import { listOrdersOf } from '../../shared/usecases/orders.ts';

const config = loadConfig('listMyOrders');
const orders = stores(config).orders();
const pageTokens = signedTokens(config.signing.TOKEN_SIGNING_KEY, 'orders-page');

export const handler = route(
  { auth: 'buyer', verifier: inRouteVerifier(config), tracing: traced() },
  async (event) => {
    const query = listOrdersQuery.parse(event.queryStringParameters ?? {});
    const page = await listOrdersOf(
      orders,
      pageTokens,
      caller(event).userId,
      query.limit ?? 20,
      query.nextToken,
    );
    return json(200, {
      orders: page.items.map(viewOfOrder),
      ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    });
  },
);
