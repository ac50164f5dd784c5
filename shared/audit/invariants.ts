import { BatchGetCommand, type DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { saleKey } from '../adapters/dynamo/keys.ts';
import { toOrder } from '../adapters/dynamo/order-store.ts';
import {
  holdsStock,
  isTerminal,
  type Order,
  type OrderStatus,
  orderIdFor,
  orderStatuses,
} from '../domain/order.ts';
import type { Sale } from '../domain/sale.ts';

export interface AuditTables {
  sales: string;
  orders: string;
  payments: string;
}

export interface AuditOptions {
  /** Order ids the API answered 202/200 for: each must exist (invariant 3). */
  acceptedOrderIds?: string[];
  /** Require every order to be terminal (a quiet moment after a drill). */
  expectSettled?: boolean;
  /** Demand exceeded supply and nothing was released: every unit must be sold (invariant 6). */
  expectSoldOut?: boolean;
  /** Reconciler period, for "stuck past expiresAt" (invariant 4). */
  reconcilePeriodMs?: number;
  now?: number;
}

export interface AuditReport {
  saleId: string;
  ok: boolean;
  stock: { total: number; available: number; held: number; sold: number };
  shards: number[];
  ordersByStatus: Record<OrderStatus, number>;
  orders: number;
  buyers: number;
  charges: { approved: number; refunded: number; declined: number };
  violations: string[];
}

/**
 * Checks DESIGN.md's six invariants for one sale straight from DynamoDB. It scans (an operator's
 * tool, run after a drill, not on any hot path) and reads the payment ledger for every order.
 */
export async function auditSale(
  db: DynamoDBDocumentClient,
  tables: AuditTables,
  saleId: string,
  options: AuditOptions = {},
): Promise<AuditReport> {
  const now = options.now ?? Date.now();
  const violations: string[] = [];
  const { Item: saleItem } = await db.send(
    new GetCommand({ TableName: tables.sales, Key: { pk: saleKey(saleId) }, ConsistentRead: true }),
  );
  if (!saleItem) throw new Error(`Sale ${saleId} not found in ${tables.sales}`);
  const sale = saleItem as unknown as Sale;

  const saleItems = await scanAll(db, tables.sales, saleId);
  const shards = new Array<number>(sale.shards).fill(0);
  const counters = new Map<string, number>();
  for (const item of saleItems) {
    if (item.kind === 'shard') shards[Number(item.shard)] = Number(item.available);
    if (item.kind === 'counter') counters.set(String(item.userId), Number(item.units));
  }
  const orders = (await scanAll(db, tables.orders, saleId)).map(toOrder);

  // 1. totalStock = available + held + sold
  const available = shards.reduce((a, b) => a + b, 0);
  const held = sum(orders.filter((o) => holdsStock(o.status)));
  const sold = sum(orders.filter((o) => o.status === 'CONFIRMED'));
  if (sale.totalStock !== available + held + sold) {
    violations.push(
      `stock does not balance: total ${sale.totalStock} ≠ available ${available} + held ${held} + sold ${sold}`,
    );
  }

  // 2. no shard below zero; no buyer above the limit; counters agree with orders
  shards.forEach((units, shard) => {
    if (units < 0) violations.push(`shard ${shard} is below zero (${units})`);
  });
  const perBuyer = new Map<string, number>();
  for (const order of orders) {
    if (holdsStock(order.status) || order.status === 'CONFIRMED')
      perBuyer.set(order.userId, (perBuyer.get(order.userId) ?? 0) + order.quantity);
  }
  for (const [userId, units] of perBuyer) {
    if (units > sale.perUserLimit)
      violations.push(`buyer ${userId} holds or bought ${units} > limit ${sale.perUserLimit}`);
  }
  for (const userId of new Set([...perBuyer.keys(), ...counters.keys()])) {
    const counted = counters.get(userId) ?? 0;
    const actual = perBuyer.get(userId) ?? 0;
    if (counted !== actual)
      violations.push(`buyer ${userId}'s counter says ${counted} but their live orders hold ${actual}`);
  }

  // 3. one order per (buyer, sale, key); every accepted order exists
  const seenKeys = new Set<string>();
  for (const order of orders) {
    const key = `${order.userId}\u0000${order.idempotencyKey}`;
    if (seenKeys.has(key))
      violations.push(`duplicate orders for buyer ${order.userId} and key ${order.idempotencyKey}`);
    seenKeys.add(key);
    if (order.orderId !== orderIdFor(order.userId, order.saleId, order.idempotencyKey)) {
      violations.push(`order ${order.orderId} is not keyed by its (buyer, sale, Idempotency-Key)`);
    }
  }
  const ids = new Set(orders.map((o) => o.orderId));
  for (const id of options.acceptedOrderIds ?? []) {
    if (!ids.has(id)) violations.push(`the API accepted order ${id} but it does not exist`);
  }

  // 4. every order terminal (when settled is expected); none stuck past its hold
  const period = options.reconcilePeriodMs ?? 60_000;
  for (const order of orders) {
    if (isTerminal(order.status)) continue;
    if (options.expectSettled) violations.push(`order ${order.orderId} is still ${order.status}`);
    else if (now > Date.parse(order.expiresAt) + period)
      violations.push(`order ${order.orderId} is ${order.status} past its hold`);
  }

  // 5. no order charged twice; every CONFIRMED order has exactly one successful charge
  const charges = await ledgerOf(db, tables.payments, [...ids]);
  const tally = { approved: 0, refunded: 0, declined: 0 };
  for (const order of orders) {
    const charge = charges.get(order.orderId);
    if (charge?.outcome === 'declined') tally.declined++;
    if (charge?.outcome === 'approved') {
      tally.approved++;
      if (charge.refunded) tally.refunded++;
    }
    const kept = charge?.outcome === 'approved' && !charge.refunded;
    if (order.status === 'CONFIRMED' && !kept)
      violations.push(`order ${order.orderId} is CONFIRMED without a successful charge`);
    if (order.status === 'CONFIRMED' && charge?.chargeId !== order.chargeId) {
      violations.push(
        `order ${order.orderId} records charge ${order.chargeId} but the processor has ${charge?.chargeId}`,
      );
    }
    if (order.status !== 'CONFIRMED' && kept && isTerminal(order.status)) {
      violations.push(`order ${order.orderId} is ${order.status} but its charge was kept`);
    }
  }

  // 6. demand exceeded supply, nothing released: nothing stranded in a shard
  if (options.expectSoldOut && available !== 0)
    violations.push(`${available} units stranded in shards of a sold-out sale: ${shards.join(',')}`);

  const ordersByStatus = Object.fromEntries(orderStatuses.map((s) => [s, 0])) as Record<OrderStatus, number>;
  for (const order of orders) ordersByStatus[order.status]++;
  return {
    saleId,
    ok: violations.length === 0,
    stock: { total: sale.totalStock, available, held, sold },
    shards,
    ordersByStatus,
    orders: orders.length,
    buyers: new Set(orders.map((o) => o.userId)).size,
    charges: tally,
    violations,
  };
}

const sum = (orders: Order[]) => orders.reduce((a, o) => a + o.quantity, 0);

async function scanAll(
  db: DynamoDBDocumentClient,
  table: string,
  saleId: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: 'saleId = :s',
        ExpressionAttributeValues: { ':s': saleId },
        ExclusiveStartKey: start,
        ConsistentRead: true,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

type LedgerEntry = { outcome?: string; chargeId?: string; refunded?: boolean };

async function ledgerOf(
  db: DynamoDBDocumentClient,
  table: string,
  keys: string[],
): Promise<Map<string, LedgerEntry>> {
  const entries = new Map<string, LedgerEntry>();
  for (let i = 0; i < keys.length; i += 100) {
    let pending: Record<string, unknown>[] = keys
      .slice(i, i + 100)
      .map((idempotencyKey) => ({ idempotencyKey }));
    while (pending.length > 0) {
      const out = await db.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[table] ?? [])
        entries.set(String(item.idempotencyKey), item as LedgerEntry);
      pending = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
    }
  }
  return entries;
}

export function formatReport(report: AuditReport): string {
  const { stock } = report;
  const statuses = Object.entries(report.ordersByStatus)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
  return [
    `Sale ${report.saleId}: ${report.ok ? 'OK — every invariant holds' : `${report.violations.length} VIOLATION(S)`}`,
    `  stock     total ${stock.total} = available ${stock.available} + held ${stock.held} + sold ${stock.sold}`,
    `  shards    ${report.shards.join(' ')}`,
    `  orders    ${report.orders} from ${report.buyers} buyers: ${statuses || 'none'}`,
    `  charges   approved ${report.charges.approved} (refunded ${report.charges.refunded}), declined ${report.charges.declined}`,
    ...report.violations.slice(0, 50).map((v) => `  ✗ ${v}`),
    ...(report.violations.length > 50 ? [`  … and ${report.violations.length - 50} more`] : []),
  ].join('\n');
}
