/**
 * The smoke scenario, over HTTP only: a small sale of its own, a few purchases (approved and
 * declined), a replay, refusals that must change nothing, then settlement and the invariants
 * that can be seen from outside. Every check is recorded; none stops the run early unless the
 * next steps cannot make sense (no sale, no accepted order).
 */
import { type ApiClient, type ApiReply, errorCode, sleep } from './api-client.ts';

export interface SmokeTokens {
  admin: string;
  /** At least one; purchases rotate over them (one buyer still works: the limit allows it). */
  buyers: string[];
}

export interface SmokeOptions {
  saleId: string;
  /** How long orders may take to reach a terminal status (a deployed reconciler runs every minute). */
  settleTimeoutMs: number;
  pollEveryMs?: number;
}

export interface Check {
  ok: boolean;
  what: string;
}

export interface SmokeResult {
  saleId: string;
  /** The sale exists (created by this run), so the table audit has something to read. */
  saleCreated: boolean;
  checks: Check[];
  /** Orders the API accepted (202/200), for the table audit. */
  acceptedOrderIds: string[];
  /** Units the settled orders keep (CONFIRMED), for the table audit's cross-check. */
  confirmedUnits: number;
}

const TERMINAL = new Set(['CONFIRMED', 'PAYMENT_FAILED', 'EXPIRED', 'CANCELLED']);
const TOTAL_STOCK = 10;
/** Three purchases of one unit each fit one buyer, so a single buyer token is enough. */
const PER_USER_LIMIT = 3;

interface Purchase {
  label: string;
  buyer: number;
  key: string;
  paymentToken: 'tok_ok' | 'tok_decline';
  expect: 'CONFIRMED' | 'PAYMENT_FAILED';
  orderId?: string;
  status?: string;
  /** As GET /orders/{id} shows it. */
  quantity?: number;
}

type OrderView = { orderId?: unknown; status?: unknown; quantity?: unknown; saleId?: unknown };

export async function runSmoke(
  api: ApiClient,
  tokens: SmokeTokens,
  options: SmokeOptions,
): Promise<SmokeResult> {
  const checks: Check[] = [];
  const check = (ok: boolean, what: string) => {
    checks.push({ ok, what });
    return ok;
  };
  const { saleId } = options;
  const result: SmokeResult = { saleId, saleCreated: false, checks, acceptedOrderIds: [], confirmedUnits: 0 };
  const buyerToken = (i: number) => tokens.buyers[i % tokens.buyers.length] as string;
  const buy = (buyer: number, key: string | undefined, body: unknown) =>
    api('POST', `/sales/${saleId}/orders`, {
      token: buyerToken(buyer),
      body,
      headers: key === undefined ? {} : { 'idempotency-key': key },
    });

  const health = await api('GET', '/health');
  check(health.status === 200, `GET /health → ${health.status}`);

  const now = Date.now();
  const created = await api('POST', '/sales', {
    token: tokens.admin,
    body: {
      saleId,
      name: `Smoke test ${saleId}`,
      price: 100,
      currency: 'EUR',
      totalStock: TOTAL_STOCK,
      perUserLimit: PER_USER_LIMIT,
      shards: 2,
      startsAt: new Date(now - 60_000).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
    },
  });
  result.saleCreated = check(created.status === 201, `POST /sales ${saleId} → ${describe(created)}`);
  if (!result.saleCreated) return result;

  // Refusals first: each must be a 4xx in the contract's shape, and (checked by the stock balance
  // and the audit at the end) write nothing.
  const key = (label: string) => `smoke-${label}-${now.toString(36)}`;
  const refusals: [string, () => Promise<ApiReply>, number[]][] = [
    ['no token', () => api('POST', `/sales/${saleId}/orders`, { body: okBody(1) }), [401]],
    ['quantity 0', () => buy(0, key('bad-qty'), okBody(0)), [400]],
    ['no Idempotency-Key', () => buy(0, undefined, okBody(1)), [400]],
    [
      'malformed JSON',
      () =>
        api('POST', `/sales/${saleId}/orders`, {
          token: buyerToken(0),
          rawBody: '{"quantity":',
          headers: { 'content-type': 'application/json', 'idempotency-key': key('bad-json') },
        }),
      [400],
    ],
    [
      `over the limit (${PER_USER_LIMIT + 1})`,
      () => buy(0, key('over'), okBody(PER_USER_LIMIT + 1)),
      [400, 409],
    ],
  ];
  for (const [what, send, statuses] of refusals) {
    const reply = await send();
    check(
      statuses.includes(reply.status) && errorCode(reply.body) !== undefined,
      `refused ${what} → ${describe(reply)} (want ${statuses.join('/')} with the error shape)`,
    );
  }

  const purchases: Purchase[] = [
    { label: 'approved', buyer: 0, key: key('a'), paymentToken: 'tok_ok', expect: 'CONFIRMED' },
    { label: 'declined', buyer: 1, key: key('b'), paymentToken: 'tok_decline', expect: 'PAYMENT_FAILED' },
    { label: 'approved', buyer: 2, key: key('c'), paymentToken: 'tok_ok', expect: 'CONFIRMED' },
  ];
  for (const p of purchases) {
    const reply = await buy(p.buyer, p.key, { quantity: 1, paymentToken: p.paymentToken });
    const orderId = (reply.body as OrderView | undefined)?.orderId;
    if (
      check(
        reply.status === 202 && typeof orderId === 'string',
        `buy 1 (${p.paymentToken}, buyer ${(p.buyer % tokens.buyers.length) + 1}) → ${describe(reply)}`,
      )
    ) {
      p.orderId = orderId as string;
      result.acceptedOrderIds.push(p.orderId);
    }
  }

  // A replay of the first purchase: same order back, nothing taken twice.
  const first = purchases[0] as Purchase;
  if (first.orderId) {
    const replay = await buy(first.buyer, first.key, { quantity: 1, paymentToken: first.paymentToken });
    const replayId = (replay.body as OrderView | undefined)?.orderId;
    check(
      (replay.status === 200 || replay.status === 202) && replayId === first.orderId,
      `replayed Idempotency-Key → ${describe(replay)}, same order ${replayId === first.orderId ? 'yes' : 'NO'}`,
    );
    const mine = await api('GET', '/me/orders?limit=100', { token: buyerToken(first.buyer) });
    const listed = ((mine.body as { orders?: OrderView[] } | undefined)?.orders ?? []).map((o) => o.orderId);
    check(
      mine.status === 200 && listed.includes(first.orderId),
      `GET /me/orders → ${mine.status}, lists ${first.orderId}: ${listed.includes(first.orderId)}`,
    );
  }

  // Every 202 names an order that reaches a terminal status.
  const accepted = purchases.filter((p) => p.orderId);
  const deadline = Date.now() + options.settleTimeoutMs;
  const started = Date.now();
  for (;;) {
    for (const p of accepted) {
      if (p.status && TERMINAL.has(p.status)) continue;
      const reply = await api('GET', `/orders/${p.orderId}`, { token: buyerToken(p.buyer) });
      const view = reply.body as OrderView | undefined;
      if (reply.status === 200 && typeof view?.status === 'string') {
        p.status = view.status;
        p.quantity = typeof view.quantity === 'number' ? view.quantity : undefined;
      } else if (reply.status === 404) p.status = 'MISSING';
    }
    const open = accepted.filter((p) => !p.status || !TERMINAL.has(p.status));
    if (open.length === 0 || open.some((p) => p.status === 'MISSING') || Date.now() > deadline) break;
    await sleep(options.pollEveryMs ?? 500);
  }
  const settledIn = Date.now() - started;
  for (const p of accepted) {
    check(
      p.status === p.expect,
      `order ${p.orderId} (${p.label}) is ${p.status ?? 'unknown'}, want ${p.expect}` +
        (p.status === 'MISSING' ? ' (the API accepted it but GET /orders says 404)' : ''),
    );
  }
  checks.push({
    ok: accepted.every((p) => p.status && TERMINAL.has(p.status)),
    what: `settlement: ${accepted.length} accepted orders terminal after ${settledIn} ms (limit ${options.settleTimeoutMs} ms)`,
  });
  const units = (status: string[]) =>
    accepted.filter((p) => p.status && status.includes(p.status)).reduce((n, p) => n + (p.quantity ?? 0), 0);
  result.confirmedUnits = units(['CONFIRMED']);
  check(
    accepted.every((p) => p.quantity === 1),
    `orders show the quantity bought: ${accepted.map((p) => p.quantity).join(', ')} (want 1 each)`,
  );

  // confirmed + available + held = total, from GET /sales/{id}. Declined orders returned their
  // units, so available is total − confirmed. A read may lag a write briefly in AWS: try a few times.
  const held = units(['RESERVED', 'PAYMENT_PENDING']);
  let available: unknown;
  let total: unknown;
  for (let attempt = 0; attempt < 6; attempt++) {
    const sale = await api('GET', `/sales/${saleId}`);
    ({ available, totalStock: total } = (sale.body ?? {}) as { available?: unknown; totalStock?: unknown });
    if (available === TOTAL_STOCK - result.confirmedUnits - held) break;
    await sleep(500);
  }
  check(
    total === TOTAL_STOCK && available === TOTAL_STOCK - result.confirmedUnits - held,
    `stock: confirmed ${result.confirmedUnits} + available ${String(available)} + held ${held} = total ${String(total)} (want ${TOTAL_STOCK})`,
  );
  return result;
}

const okBody = (quantity: number) => ({ quantity, paymentToken: 'tok_ok' });

function describe(reply: ApiReply): string {
  const code = errorCode(reply.body);
  return code ? `${reply.status} ${code}` : String(reply.status);
}
