import { DomainError, orderNotFound } from '../domain/errors.ts';
import type { Order } from '../domain/order.ts';
import type { OrderStore, Page } from '../ports.ts';
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

export function listOrdersOf(
  orders: OrderStore,
  userId: string,
  limit: number,
  nextToken?: string,
): Promise<Page<Order>> {
  return orders.listByBuyer(userId, limit, nextToken);
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
