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
  headers: ReplyHeaders;
}

/** An answer's headers, by name in any case. */
export type ReplyHeaders = Pick<Headers, 'get'>;

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
   * The transport, e.g. `ownConnections(1).fetch` (connections.ts) for one connection per buyer.
   * Default: `viaFetch`, the global fetch (its shared pool, no cap on connections).
   */
  fetch?: Transport;
}

/** A request as a transport sends it: the body already text, so a retry resends it at no cost. */
export interface Outgoing {
  url: string;
  method: string;
  /** By lower-case name. */
  headers: Record<string, string>;
  body?: string;
}

/** An answer as a transport hands it back, its body read. */
export interface Incoming {
  status: number;
  /** By lower-case name. */
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Sends one request; fails as fetch fails ("fetch failed" with the cause, or the signal's reason)
 * when there is no answer at all.
 */
export type Transport = (request: Outgoing, signal: AbortSignal) => Promise<Incoming>;

export type ApiClient = (method: string, path: string, call?: ApiCall) => Promise<ApiReply>;
export type TypedApi = Client<paths>;

/** The default transport: the global fetch. */
export const viaFetch: Transport = async (request, signal) => {
  const res = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    signal,
  });
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
};

export function typedApi(baseUrl: string, options: ApiClientOptions = {}): TypedApi {
  return createClient<paths>({
    baseUrl: baseUrl.replace(/\/$/, ''),
    // openapi-fetch builds these and reads them back only by the members PlainRequest and
    // PlainResponse have; WHATWG's own cost the crowd's client 4× its transport's CPU.
    Request: PlainRequest as unknown as typeof Request,
    fetch: patientFetch(options) as unknown as (request: Request) => Promise<Response>,
  });
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

/**
 * What openapi-fetch builds for each call, in place of a WHATWG Request: the crowd's client shares
 * the machine with the server it measures, and a Request (its body a stream, cloned for a retry)
 * and a Response cost 350–490 µs of client CPU a checkout against the transport's own 88 µs
 * (measured side by side on a server answering 429 at once).
 */
class PlainRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly body: string | undefined;

  constructor(url: string, init: { method?: string; headers?: Headers; body?: unknown } = {}) {
    this.url = url;
    this.method = (init.method ?? 'GET').toUpperCase();
    this.headers = new Headers(init.headers);
    if (init.body !== undefined && init.body !== null && typeof init.body !== 'string')
      throw new TypeError('The API client sends text bodies only');
    this.body = init.body ?? undefined;
  }
}

/** An answer, as openapi-fetch reads it: status, ok, headers.get, text() and json(). */
class PlainResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: ReplyHeaders;
  readonly body = null;
  private readonly text_: string;

  constructor({ status, headers, body }: Incoming) {
    this.status = status;
    this.ok = status >= 200 && status < 300;
    this.text_ = body;
    this.headers = { get: (name) => headerValue(headers, name) };
  }

  async text(): Promise<string> {
    return this.text_;
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.text_);
  }
}

function headerValue(headers: Incoming['headers'], name: string): string | null {
  const value = headers[name.toLowerCase()];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The transport every call goes through: a timeout per attempt, 429 retried after its Retry-After. */
function patientFetch(options: ApiClientOptions): (request: PlainRequest) => Promise<PlainResponse> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const retries = options.retries429 ?? 5;
  const send = options.fetch ?? viaFetch;
  return async (request) => {
    const outgoing: Outgoing = {
      url: request.url,
      method: request.method,
      headers: Object.fromEntries(request.headers),
      ...(request.body === undefined ? {} : { body: request.body }),
    };
    for (let attempt = 0; ; attempt++) {
      let answer: Incoming;
      try {
        answer = await send(outgoing, AbortSignal.timeout(timeoutMs));
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        const code =
          (error as Error).name === 'TimeoutError' ? 'ETIMEDOUT' : (cause?.code ?? (error as Error).name);
        throw new ApiUnreachable(
          `${request.method} ${request.url} failed: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
          code,
        );
      }
      if (answer.status !== 429 || attempt >= retries) return new PlainResponse(answer);
      const seconds = Number(headerValue(answer.headers, 'retry-after'));
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
