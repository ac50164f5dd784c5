import { type DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { batchGetAll } from '../adapters/dynamo/batch-get.ts';
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
import { type DispenserState, numbersOf } from '../domain/stock.ts';

export interface AuditTables {
  sales: string;
  orders: string;
  payments: string;
  claims: string;
}

export interface AuditOptions {
  /** Order ids the API answered 202/200 for: each must exist (invariant 3). */
  acceptedOrderIds?: string[];
  /** Require every order to be terminal (a quiet moment after a drill). */
  expectSettled?: boolean;
  /** Demand exceeded supply and nothing was released: every unit must be sold (invariant 6). */
  expectSoldOut?: boolean;
  /**
   * Numbers taken but neither claimed nor given back may exist (a crash between take and claim
   * that the sweep has not reached yet); by default there must be none at a quiet moment.
   */
  allowInFlight?: boolean;
  /** Reconciler period, for "stuck past expiresAt" (invariant 4). */
  reconcilePeriodMs?: number;
  now?: number;
}

export interface AuditReport {
  saleId: string;
  ok: boolean;
  stock: { total: number; available: number; held: number; sold: number; inFlight: number };
  /** Per dispenser: what it still offers (cap − issued). */
  dispensers: number[];
  /** Unit items: numbers claimed by orders, and numbers given back (return markers). */
  units: { claimed: number; returned: number };
  ordersByStatus: Record<OrderStatus, number>;
  orders: number;
  buyers: number;
  charges: { approved: number; refunded: number; declined: number };
  violations: string[];
}

/**
 * Checks DESIGN.md's six invariants for one sale straight from DynamoDB, plus the dispensers' own:
 * every issued number is claimed by exactly the order that lists it, returned, or (only while
 * the sweep has not reached it) in flight. It scans (an operator's
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
  const dispensers: DispenserState[] = Array.from({ length: sale.shards }, () => ({ issued: 0, cap: 0 }));
  const counters = new Map<string, number>();
  for (const item of saleItems) {
    if (item.kind === 'dispenser') {
      const d = { issued: Number(item.issued), cap: Number(item.cap) };
      dispensers[Number(item.dispenser)] = d;
      if (Number(item.available) !== d.cap - d.issued)
        violations.push(
          `dispenser ${item.dispenser} offers ${item.available} ≠ cap ${d.cap} − issued ${d.issued}`,
        );
    }
    if (item.kind === 'counter') counters.set(String(item.userId), Number(item.units));
  }
  const orders = (await scanAll(db, tables.orders, saleId)).map(toOrder);
  const unitItems = await scanAll(db, tables.claims, saleId);

  // 1. totalStock = available + held + sold (+ numbers in flight: taken, neither claimed nor returned)
  const available = dispensers.reduce((a, d) => a + (d.cap - d.issued), 0);
  const issued = dispensers.reduce((a, d) => a + d.issued, 0);
  const claimedUnits = unitItems.filter((u) => u.state === 'claimed');
  const returnedUnits = unitItems.filter((u) => u.state === 'returned');
  const inFlight = issued - claimedUnits.length - returnedUnits.length;
  const held = sum(orders.filter((o) => holdsStock(o.status)));
  const sold = sum(orders.filter((o) => o.status === 'CONFIRMED'));
  if (sale.totalStock !== available + held + sold + inFlight) {
    violations.push(
      `stock does not balance: total ${sale.totalStock} ≠ available ${available} + held ${held} + sold ${sold} + in flight ${inFlight}`,
    );
  }
  if (inFlight < 0) violations.push(`${-inFlight} more unit items than numbers issued`);
  if (inFlight > 0 && !options.allowInFlight)
    violations.push(`${inFlight} numbers taken but neither claimed nor given back`);

  // 2. no dispenser over its cap; no buyer above the limit; counters agree with orders
  dispensers.forEach((d, i) => {
    if (d.issued > d.cap) violations.push(`dispenser ${i} issued ${d.issued} > cap ${d.cap}`);
  });
  for (const unit of unitItems) {
    const d = dispensers[Number(unit.dispenser)];
    if (!d || Number(unit.number) < 1 || Number(unit.number) > d.issued)
      violations.push(`unit ${unit.pk} is not a number its dispenser issued`);
  }
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

  // Every number is sold once: each order's numbers are unit items claimed by that order, and
  // every claimed unit item belongs to an order that lists it.
  const claimedBy = new Map(claimedUnits.map((u) => [`${u.dispenser}#${u.number}`, String(u.orderId)]));
  const listed = new Set<string>();
  for (const order of orders) {
    const numbers = numbersOf(order.claimed ?? []);
    if (numbers.length !== order.quantity)
      violations.push(`order ${order.orderId} claims ${numbers.length} numbers for ${order.quantity} units`);
    for (const { dispenser, number } of numbers) {
      const key = `${dispenser}#${number}`;
      if (listed.has(key)) violations.push(`number ${key} is listed by two orders`);
      listed.add(key);
      const owner = claimedBy.get(key);
      if (owner !== order.orderId)
        violations.push(
          `order ${order.orderId} lists number ${key} but its unit item is ${owner ?? 'absent or returned'}`,
        );
    }
  }
  for (const key of claimedBy.keys()) {
    if (!listed.has(key))
      violations.push(`unit ${key} is claimed by ${claimedBy.get(key)}, which does not list it`);
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

  // 6. demand exceeded supply, nothing released: nothing stranded in a dispenser
  const remaining = dispensers.map((d) => d.cap - d.issued);
  if (options.expectSoldOut && available !== 0)
    violations.push(`${available} units stranded in dispensers of a sold-out sale: ${remaining.join(',')}`);

  const ordersByStatus = Object.fromEntries(orderStatuses.map((s) => [s, 0])) as Record<OrderStatus, number>;
  for (const order of orders) ordersByStatus[order.status]++;
  return {
    saleId,
    ok: violations.length === 0,
    stock: { total: sale.totalStock, available, held, sold, inFlight },
    dispensers: remaining,
    units: { claimed: claimedUnits.length, returned: returnedUnits.length },
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
  const items = await batchGetAll(
    db,
    table,
    keys.map((idempotencyKey) => ({ idempotencyKey })),
    { consistent: true },
  );
  for (const item of items) entries.set(String(item.idempotencyKey), item as LedgerEntry);
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
    `  stock     total ${stock.total} = available ${stock.available} + held ${stock.held} + sold ${stock.sold} + in flight ${stock.inFlight}`,
    `  dispensers ${report.dispensers.join(' ')}`,
    `  units     claimed ${report.units.claimed}, returned ${report.units.returned}`,
    `  orders    ${report.orders} from ${report.buyers} buyers: ${statuses || 'none'}`,
    `  charges   approved ${report.charges.approved} (refunded ${report.charges.refunded}), declined ${report.charges.declined}`,
    ...report.violations.slice(0, 50).map((v) => `  ✗ ${v}`),
    ...(report.violations.length > 50 ? [`  … and ${report.violations.length - 50} more`] : []),
  ].join('\n');
}
