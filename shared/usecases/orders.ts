import * as z from 'zod/mini';
import type { SignedTokens } from '../auth/signed-token.ts';
import { DomainError, invalid, orderNotFound } from '../domain/errors.ts';
import type { Order } from '../domain/order.ts';
import type { BuyerCursor, OrderStore } from '../ports.ts';
import { announce, type PipelineDeps } from './pipeline.ts';

export interface Viewer {
  userId: string;
  admin: boolean;
}

/** Someone else's order is reported as missing, so order ids cannot be probed. */
export async function getOrderFor(orders: OrderStore, viewer: Viewer, orderId: string): Promise<Order> {
  const order = await orders.get(orderId);
  if (!order || (order.userId !== viewer.userId && !viewer.admin)) throw orderNotFound(orderId);
  return order;
}

/** The byBuyer key inside a signed nextToken: a buyer id, an order id, an ISO instant. */
const buyerCursor = z.strictObject({
  u: z.string().check(z.minLength(1), z.maxLength(128)),
  o: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/)),
  c: z.iso.datetime(),
});

/**
 * A buyer's orders, newest first. The nextToken is signed (HMAC, the `signing` key) and names its
 * buyer: anything this API did not issue to this buyer is a 400, never a query.
 */
export async function listOrdersOf(
  orders: OrderStore,
  tokens: SignedTokens,
  userId: string,
  limit: number,
  nextToken?: string,
): Promise<{ items: Order[]; nextToken?: string }> {
  let after: BuyerCursor | undefined;
  if (nextToken !== undefined) {
    const cursor = buyerCursor.safeParse(tokens.read(nextToken));
    if (!cursor.success || cursor.data.u !== userId)
      throw invalid('nextToken is not a token this API gave you', [
        { path: 'nextToken', message: 'invalid' },
      ]);
    after = { orderId: cursor.data.o, createdAt: cursor.data.c };
  }
  const page = await orders.listByBuyer(userId, limit, after);
  return {
    items: page.items,
    ...(page.after
      ? { nextToken: tokens.sign({ u: userId, o: page.after.orderId, c: page.after.createdAt }) }
      : {}),
  };
}

/** A buyer may cancel while the order is RESERVED; the units and the buyer's counter come back. */
export async function cancelOrder(
  deps: Pick<PipelineDeps, 'orders' | 'events' | 'observe'>,
  viewer: Viewer,
  orderId: string,
  now: number,
): Promise<Order> {
  const order = await deps.orders.get(orderId, true);
  if (!order || order.userId !== viewer.userId) throw orderNotFound(orderId);
  if (order.status === 'CANCELLED') return order;
  const cancelled =
    order.status === 'RESERVED'
      ? await deps.orders.transition(order, 'RESERVED', { to: 'CANCELLED', now })
      : undefined;
  if (!cancelled) {
    const current = (await deps.orders.get(orderId, true)) ?? order;
    throw new DomainError(
      'ORDER_NOT_CANCELLABLE',
      `Order ${orderId} is ${current.status}; only RESERVED orders can be cancelled`,
    );
  }
  deps.observe?.('cancelled');
  deps.observe?.('unitsReleased', cancelled.quantity);
  await announce(deps, cancelled);
  return cancelled;
}
