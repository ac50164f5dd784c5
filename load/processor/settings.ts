/**
 * The Artillery processor's settings (from the environment `npm run load` sets, see
 * load/processor.ts) and the shapes of what Artillery hands its hooks.
 */
import { randomUUID } from 'node:crypto';

export type Vars = Record<string, unknown>;
export interface Context {
  vars: Vars;
}
export interface Events {
  emit(type: 'counter' | 'histogram' | 'rate', name: string, value?: number): void;
}
export interface Req {
  url: string;
  name?: string;
  json?: unknown;
}
export interface Res {
  statusCode: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: unknown;
  timings?: { phases?: { total?: number } };
}

const num = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return process.env[name] !== undefined && Number.isFinite(value) ? value : fallback;
};

export const settings = {
  saleId: process.env.LOAD_SALE_ID ?? '',
  tokensFile: process.env.LOAD_TOKENS_FILE,
  runId: process.env.LOAD_RUN_ID ?? `drill-${randomUUID().slice(0, 8)}`,
  paymentToken: process.env.LOAD_PAYMENT_TOKEN ?? 'tok_ok',
  retryShare: num('LOAD_RETRY_SHARE', 0.1),
  overLimitShare: num('LOAD_OVER_LIMIT_SHARE', 0.05),
  pollIntervalMs: num('LOAD_POLL_INTERVAL_MS', 500),
  pollTimeoutMs: num('LOAD_POLL_TIMEOUT_S', 90) * 1000,
  /** Tries of a checkout answered 429 RETRY, the first included (a buyer honours Retry-After). */
  checkoutTries: num('LOAD_CHECKOUT_TRIES', 8),
  eventsFile: process.env.LOAD_EVENTS_FILE,
  ordersFile: process.env.LOAD_ORDERS_FILE,
};

export const TERMINAL = new Set(['CONFIRMED', 'PAYMENT_FAILED', 'EXPIRED', 'CANCELLED']);
