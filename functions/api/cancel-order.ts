import { stores } from '../../shared/adapters/dynamo/client.ts';
import { SnsOrderEvents } from '../../shared/adapters/events/sns-order-events.ts';
import { inRouteVerifier } from '../../shared/auth/verify.ts';
import { loadConfig } from '../../shared/config.ts';
import { pathId } from '../../shared/contract.ts';
import { viewOfOrder } from '../../shared/domain/order.ts';
import { caller, json, route } from '../../shared/http/route.ts';
import { countPipeline, logger } from '../../shared/observability.ts';
import { traced } from '../../shared/tracing.ts';
import { cancelOrder } from '../../shared/usecases/orders.ts';

const config = loadConfig('cancelOrder');
const deps = {
  orders: stores(config).orders(),
  events: new SnsOrderEvents(config, config.topicArn('orderEvents'), logger),
  observe: countPipeline,
};

export const handler = route(
  { auth: 'buyer', verifier: inRouteVerifier(config), tracing: traced(), metrics: true },
  async (event) =>
    json(
      200,
      viewOfOrder(
        await cancelOrder(deps, caller(event), pathId.parse(event.pathParameters?.orderId), Date.now()),
      ),
    ),
);
