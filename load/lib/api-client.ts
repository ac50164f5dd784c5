/**
 * THE client of the checkout API, generated from the OpenAPI document: `typedApi` is an
 * openapi-fetch client over the types `npm run openapi` writes (load/lib/openapi-types.ts), so a
 * call that does not fit the contract fails `tsc`. Every call has a timeout, and `429 RETRY` is
 * honoured through its `Retry-After` a few times before the answer is handed back as it is.
 * `apiClient` is the same client spoken by method and concrete path, for callers that probe the
 * API with raw or bad input (the smoke command).
 */
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './openapi-types.ts';

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
  /**
   * The transport, e.g. `ownConnections(1).fetch` (connections.ts) for one connection per buyer. Default: the global
   * fetch (its shared pool, no cap on connections).
   */
  fetch?: Transport;
}

export type Transport = (request: Request) => Promise<Response>;

export type ApiClient = (method: string, path: string, call?: ApiCall) => Promise<ApiReply>;
export type TypedApi = Client<paths>;

export function typedApi(baseUrl: string, options: ApiClientOptions = {}): TypedApi {
  return createClient<paths>({ baseUrl: baseUrl.replace(/\/$/, ''), fetch: patientFetch(options) });
}

export function apiClient(baseUrl: string, options: ApiClientOptions = {}): ApiClient {
  const api = typedApi(baseUrl, options);
  return async (method, path, call = {}) => {
    const headers: Record<string, string | null> = { ...(call.headers ?? {}) };
    if (call.token) headers.authorization = `Bearer ${call.token}`;
    const raw = call.rawBody ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
    const typed = Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
    // JSON bodies say so; a raw body goes without the JSON type openapi-fetch would add (null unsets it).
    if (!typed && raw !== undefined)
      headers['content-type'] = call.rawBody === undefined ? 'application/json' : null;
    // A concrete path (ids filled in) is sent as it is; the body goes out byte for byte.
    const { data, error, response } = await api.request(method.toLowerCase() as 'get', path as '/health', {
      headers,
      parseAs: 'text',
      ...(raw === undefined ? {} : { body: raw as never, bodySerializer: () => raw }),
    });
    // openapi-fetch hands back an error body parsed when it is JSON, as text otherwise.
    const body = response.ok ? parseJson((data as string | undefined) ?? '') : (error ?? undefined);
    return { status: response.status, body: body === '' ? undefined : body, headers: response.headers };
  };
}

/** The transport every call goes through: a timeout per attempt, 429 retried after its Retry-After. */
function patientFetch(options: ApiClientOptions): (request: Request) => Promise<Response> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const retries = options.retries429 ?? 5;
  const send = options.fetch ?? ((request: Request) => fetch(request));
  return async (request) => {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        // Only a request that may be sent again is copied (a copy of a body costs a stream tee).
        const once = attempt < retries ? request.clone() : request;
        res = await send(new Request(once, { signal: AbortSignal.timeout(timeoutMs) }));
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        const code =
          (error as Error).name === 'TimeoutError' ? 'ETIMEDOUT' : (cause?.code ?? (error as Error).name);
        throw new ApiUnreachable(
          `${request.method} ${request.url} failed: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
          code,
        );
      }
      if (res.status !== 429 || attempt >= retries) return res;
      await res.body?.cancel();
      const seconds = Number(res.headers.get('retry-after'));
      await sleep(Math.min(5_000, Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 500));
    }
  };
}

/** No HTTP answer at all (refused, reset, DNS, timeout). */
export class ApiUnreachable extends Error {
  override name = 'ApiUnreachable';
  constructor(
    message: string,
    /** The transport's code: ECONNRESET, ECONNREFUSED, ETIMEDOUT (the call's timeout), UND_ERR_SOCKET, … */
    readonly code: string,
  ) {
    super(message);
  }
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
