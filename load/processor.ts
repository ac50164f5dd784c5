/**
 * Artillery processor for load/flash-sale.yml: what each virtual buyer checks (who it is:
 * load/processor/buyer.ts).
 *
 * `npm run load` bundles this file to CommonJS (load/dist/, gitignored) with esbuild, so it knows
 * nothing of the server's code: Artillery's own engine sends the scenario's requests, and the calls
 * made here (the sale's limit, dev tokens) go through the typed API client.
 *
 * Settings (environment; `npm run load` sets them):
 *   LOAD_SALE_ID            sale to buy from (required)
 *   LOAD_TOKENS_FILE        one buyer per line, `userId,token` or just `token` (a deployed stack's
 *                           Cognito ID tokens); without it each buyer mints its token through the
 *                           local runtime's `POST /dev/tokens`
 *   LOAD_RUN_ID             prefix of minted user ids and of Idempotency-Keys (default: random)
 *   LOAD_PAYMENT_TOKEN      payment token every buyer pays with (default tok_ok)
 *   LOAD_RETRY_SHARE        share of buyers who repeat their checkout with the same key (0.1)
 *   LOAD_OVER_LIMIT_SHARE   share who buy their limit, then try one more unit (0.05)
 *   LOAD_POLL_INTERVAL_MS   order status polling interval (500)
 *   LOAD_POLL_TIMEOUT_S     give up polling an order after this long (90)
 *   LOAD_EVENTS_FILE        append one JSON line per request (for the chart)
 *   LOAD_ORDERS_FILE        append every accepted order id (for the audit)
 *
 * Tokens from a file are handed out in file order by a per-process counter, so run Artillery with
 * one local worker (`WORKERS=1`, as `npm run load` does) or give each worker its own file.
 */
import { appendFileSync } from 'node:fs';
import { errorCode as contractCode } from './lib/api-client.ts';
import {
  type Context,
  type Events,
  type Req,
  type Res,
  settings,
  TERMINAL,
  type Vars,
} from './processor/settings.ts';

export { pickBuyer } from './processor/buyer.ts';

// ifTrue conditions (called with the scenario's variables)
export const shouldBuy = (vars: Vars) => vars.skip !== true;
export const shouldRetry = (vars: Vars) => vars.retries === true && vars.accepted === true;
export const shouldBuyAgain = (vars: Vars) =>
  Number(vars.retryAfterMs) > 0 && Number(vars.checkoutTries) < settings.checkoutTries;
export const shouldExceed = (vars: Vars) => vars.overLimit === true && vars.accepted === true;
export const shouldPoll = (vars: Vars) => vars.accepted === true && !TERMINAL.has(String(vars.orderStatus));

// beforeRequest: bodies with numbers (templates would turn them into strings)
export function checkoutBody(req: Req, context: Context, _events: Events, done: () => void): void {
  req.json = { quantity: context.vars.quantity, paymentToken: settings.paymentToken };
  done();
}
export function oneMoreBody(req: Req, _context: Context, _events: Events, done: () => void): void {
  req.json = { quantity: 1, paymentToken: settings.paymentToken };
  done();
}

function bodyOf(res: Res): Record<string, unknown> {
  if (typeof res.body === 'object' && res.body !== null) return res.body as Record<string, unknown>;
  try {
    return JSON.parse(String(res.body ?? '')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

const errorCode = (body: Record<string, unknown>) => contractCode(body) ?? 'NO_CODE';

function record(name: string, res: Res, code?: string): void {
  if (!settings.eventsFile) return;
  const line = {
    end: Date.now(),
    ms: Math.round((res.timings?.phases?.total ?? 0) * 10) / 10,
    name,
    status: res.statusCode,
    ...(code ? { code } : {}),
  };
  appendFileSync(settings.eventsFile, `${JSON.stringify(line)}\n`);
}

function serverError(res: Res, events: Events): boolean {
  if (res.statusCode < 500) return false;
  events.emit('counter', 'checkout.server_errors', 1);
  return true;
}

// afterResponse hooks
export function afterCheckout(_req: Req, res: Res, context: Context, events: Events, done: () => void): void {
  checkoutAnswered('checkout', res, context, events);
  done();
}

/** A checkout tried again after `429 RETRY` (named apart: the p99 check is on first tries). */
export function afterCheckoutAgain(
  _req: Req,
  res: Res,
  context: Context,
  events: Events,
  done: () => void,
): void {
  checkoutAnswered('checkout-again', res, context, events);
  done();
}

function checkoutAnswered(name: string, res: Res, context: Context, events: Events): void {
  context.vars.checkoutTries = Number(context.vars.checkoutTries) + 1;
  // As the buyer page waits: at least Retry-After (1 s if absent), plus up to half again at random.
  const seconds = Number(res.headers?.['retry-after']);
  const base = (Number.isFinite(seconds) && seconds > 0 ? seconds : 1) * 1000;
  context.vars.retryAfterMs = res.statusCode === 429 ? base * (1 + Math.random() / 2) : 0;
  const body = bodyOf(res);
  if (res.statusCode === 202 || res.statusCode === 200) {
    context.vars.accepted = true;
    context.vars.orderId = String(body.orderId ?? '');
    context.vars.orderStatus = String(body.status ?? '');
    context.vars.pollDeadline = Date.now() + settings.pollTimeoutMs;
    events.emit('counter', 'checkout.accepted', 1);
    if (res.statusCode === 200) events.emit('counter', 'checkout.replayed_first_time', 1);
    if (settings.ordersFile) appendFileSync(settings.ordersFile, `${context.vars.orderId}\n`);
    record(name, res);
  } else {
    const code = res.statusCode >= 500 ? `HTTP_${res.statusCode}` : errorCode(body);
    const final = res.statusCode !== 429 || Number(context.vars.checkoutTries) >= settings.checkoutTries;
    if (!serverError(res, events) && final) events.emit('counter', `checkout.refused.${code}`, 1);
    record(name, res, code);
  }
}

export function afterRetry(_req: Req, res: Res, context: Context, events: Events, done: () => void): void {
  const body = bodyOf(res);
  const same = (res.statusCode === 200 || res.statusCode === 202) && body.orderId === context.vars.orderId;
  // 429 RETRY is "not now", not another order: counted apart, never as a mismatch.
  const counter = same
    ? 'idempotency.same_order'
    : res.statusCode === 429
      ? 'idempotency.retry_refused'
      : 'idempotency.mismatch';
  events.emit('counter', counter, 1);
  serverError(res, events);
  record('checkout-retry', res, same ? undefined : res.statusCode >= 400 ? errorCode(body) : 'OTHER_ORDER');
  done();
}

export function afterOverLimit(
  _req: Req,
  res: Res,
  _context: Context,
  events: Events,
  done: () => void,
): void {
  const body = bodyOf(res);
  const code = res.statusCode >= 400 ? errorCode(body) : undefined;
  if (res.statusCode === 409 && code === 'PURCHASE_LIMIT_EXCEEDED')
    events.emit('counter', 'limit.refused', 1);
  // Sold out before the limit was even looked at: also a refusal, counted apart.
  else if (res.statusCode === 409 && code === 'SOLD_OUT') events.emit('counter', 'limit.sold_out_first', 1);
  else if (res.statusCode < 300) events.emit('counter', 'limit.breached', 1);
  else if (!serverError(res, events)) events.emit('counter', `limit.unexpected.${code}`, 1);
  record('checkout-over-limit', res, code);
  done();
}

export function afterPoll(_req: Req, res: Res, context: Context, events: Events, done: () => void): void {
  const body = bodyOf(res);
  if (res.statusCode === 200) {
    context.vars.orderStatus = String(body.status ?? '');
    if (TERMINAL.has(String(body.status))) events.emit('counter', `orders.terminal.${body.status}`, 1);
  } else serverError(res, events);
  record('order-status', res, res.statusCode === 200 ? undefined : errorCode(body));
  done();
}

/** Loop step: wait what the last `429 RETRY` asked before buying again. */
export async function retryPause(context: Context): Promise<void> {
  if (shouldBuyAgain(context.vars))
    await new Promise((r) => setTimeout(r, Number(context.vars.retryAfterMs)));
}

/** Loop condition: buy again while the answer is `429 RETRY`, at most LOAD_CHECKOUT_TRIES tries. */
export function keepBuying(context: Context, next: (again: boolean) => void): void {
  next(shouldBuyAgain(context.vars));
}

/** Loop step: wait before the next poll, only while there will be one. */
export async function pollPause(context: Context): Promise<void> {
  if (shouldPoll(context.vars) && Date.now() < Number(context.vars.pollDeadline)) {
    await new Promise((r) => setTimeout(r, settings.pollIntervalMs));
  }
}

/** Loop condition: poll until terminal, bounded by LOAD_POLL_TIMEOUT_S. */
export function keepPolling(context: Context, next: (again: boolean) => void): void {
  if (!shouldPoll(context.vars)) {
    next(false);
  } else if (Date.now() >= Number(context.vars.pollDeadline)) {
    context.vars.pollGaveUp = true;
    next(false);
  } else {
    next(true);
  }
}

/** Scenario end: an accepted order that never turned terminal is a failure of the drill. */
export async function finishBuyer(context: Context, events: Events): Promise<void> {
  if (context.vars.accepted === true && !TERMINAL.has(String(context.vars.orderStatus))) {
    events.emit('counter', 'orders.unsettled', 1);
  }
}
