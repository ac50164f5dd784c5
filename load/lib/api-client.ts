/**
 * A small HTTP client for the checkout API, for CLIs that talk to any deployed stack (the smoke
 * command): JSON in and out, a timeout per request, and `429 RETRY` honoured through its
 * `Retry-After` a few times before the answer is handed back as it is.
 */
import { joinUrl } from './url.ts';

export interface ApiReply {
  status: number;
  /** Parsed JSON, or the raw text when the body is not JSON. */
  body: unknown;
  headers: Headers;
}

export interface ApiCall {
  token?: string;
  body?: unknown;
  /** Sent as is (bad-input probes); wins over `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface ApiClientOptions {
  timeoutMs?: number;
  /** How many times a 429 is retried after its Retry-After (capped at 5 s each). */
  retries429?: number;
}

export type ApiClient = (method: string, path: string, call?: ApiCall) => Promise<ApiReply>;

export function apiClient(baseUrl: string, options: ApiClientOptions = {}): ApiClient {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const retries = options.retries429 ?? 5;
  return async (method, path, call = {}) => {
    const headers: Record<string, string> = { ...(call.headers ?? {}) };
    if (call.token) headers.authorization = `Bearer ${call.token}`;
    let body = call.rawBody;
    if (body === undefined && call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['content-type'] ??= 'application/json';
    }
    for (let attempt = 0; ; attempt++) {
      const url = joinUrl(baseUrl, path);
      let res: Response;
      try {
        res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new ApiUnreachable(
          `${method} ${url} failed: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
        );
      }
      const text = await res.text();
      if (res.status === 429 && attempt < retries) {
        const seconds = Number(res.headers.get('retry-after'));
        await sleep(Math.min(5_000, Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 500));
        continue;
      }
      return { status: res.status, body: parseJson(text), headers: res.headers };
    }
  };
}

/** No HTTP answer at all (refused, reset, DNS, timeout). */
export class ApiUnreachable extends Error {
  override name = 'ApiUnreachable';
}

/** The contract's error code, when the body has the contract's error shape. */
export function errorCode(body: unknown): string | undefined {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string' ? error.code : undefined;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
