import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayAuthorizerResult, APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { errorBody } from '../../shared/http/error-body.ts';
import { type GatewayRefusal, gatewayRefusals } from '../../shared/http/gateway-refusals.ts';
import {
  type Auth,
  type FunctionKey,
  type FunctionSpec,
  functionSpecs,
  routeMatcher,
} from '../../shared/wiring.ts';
import type { AuthorizerAnswer } from './authorizer.ts';
import type { Invocation } from './concurrency.ts';
import type { EdgeCache } from './edge-cache.ts';
import type { ApiThrottle } from './throttle.ts';

/** Accepted before a handler runs, like API Gateway's own 10 MB cap (the handlers enforce 16 KB). */
const MAX_REQUEST_BYTES = 1024 * 1024;

interface Route {
  key: FunctionKey;
  method: string;
  path: string;
  auth: Auth;
  match: (actual: string) => Record<string, string> | undefined;
}

export interface GatewayDeps {
  region: string;
  throttle: ApiThrottle;
  authorize: (token: string | undefined, methodArn: string) => Promise<AuthorizerAnswer>;
  /** A synchronous invocation, within the function's concurrency limit and timeout. */
  invoke: (fn: FunctionKey, event: APIGatewayProxyEvent) => Promise<Invocation<unknown>>;
  /** Plays CloudFront in front: cached public answers cost no invocation (edge-cache.ts). */
  edge?: EdgeCache;
  /** Local-only routes (JWKS, /dev/tokens) when this runtime is its own dev issuer. */
  devRoute?: (req: IncomingMessage, path: string, body: string) => Promise<[number, string] | undefined>;
}

/**
 * Plays API Gateway (REST, Lambda proxy): route matching (405 with `Allow` for a known path with
 * another method), throttling, the TOKEN authorizer, the proxy event, and its overload answers.
 */
export function gateway(deps: GatewayDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const routes: Route[] = (Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]).flatMap(
    ([key, spec]) => (spec.http ? [{ key, ...spec.http, match: routeMatcher(spec.http.path) }] : []),
  );
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, errorBody('PAYLOAD_TOO_LARGE', 'The body is too large'));
    const method = req.method ?? 'GET';
    const cached = deps.edge?.lookup(req);
    if (cached) return reply(res, cached);

    const dev = await deps.devRoute?.(req, url.pathname, body);
    if (dev) return send(res, ...dev);

    let found: { route: Route; params: Record<string, string> }[];
    try {
      found = routes.flatMap((route) => {
        const params = route.match(url.pathname);
        return params ? [{ route, params }] : [];
      });
    } catch {
      // decodeURIComponent refused a malformed escape such as `%E0%A4%A`.
      return send(res, 400, errorBody('VALIDATION_ERROR', 'The path has malformed percent-encoding'));
    }
    const hit = found.find((f) => f.route.method === method);
    if (!hit) {
      if (found.length === 0)
        return send(res, 404, errorBody('NOT_FOUND', `No route for ${method} ${url.pathname}`));
      const allow = [...new Set(found.map((f) => f.route.method))].join(', ');
      return send(
        res,
        405,
        errorBody('METHOD_NOT_ALLOWED', `${method} is not supported here; use ${allow}`),
        {
          Allow: allow,
        },
      );
    }
    if (!deps.throttle.admit(hit.route.key)) return refuse(res, 'throttled');

    let authorizer: Record<string, unknown> | null = null;
    if (hit.route.auth !== 'public') {
      const methodArn = `arn:aws:execute-api:${deps.region}:000000000000:local/local/${method}${url.pathname}`;
      const answer = await deps.authorize(header(req, 'authorization'), methodArn);
      if (answer.kind === 'unauthorized')
        return send(res, 401, errorBody('UNAUTHORIZED', 'A valid bearer token is required'));
      if (answer.kind === 'deny') return send(res, 403, errorBody('FORBIDDEN', 'Not allowed'));
      if (answer.kind === 'busy')
        return refuse(res, answer.reason === 'throttled' ? 'functionThrottled' : 'integrationTimeout');
      authorizer = authorizerContext(answer.result);
    }
    const event = proxyEvent(req, url, body, hit.route.path, hit.params, authorizer);
    const origin = () => deps.invoke(hit.route.key, event);
    const invocation = await (deps.edge ? deps.edge.through(req, origin) : origin());
    if (invocation.outcome === 'throttled') return refuse(res, 'functionThrottled');
    if (invocation.outcome === 'timedOut') return refuse(res, 'integrationTimeout');
    reply(res, invocation.value as APIGatewayProxyResult);
  };
}

function reply(res: ServerResponse, result: APIGatewayProxyResult): void {
  res.writeHead(result.statusCode, normalizeHeaders(result.headers));
  res.end(result.body);
}

function authorizerContext(result: APIGatewayAuthorizerResult): Record<string, unknown> {
  return { ...(result.context ?? {}), principalId: result.principalId };
}

function refuse(res: ServerResponse, refusal: GatewayRefusal): void {
  const r = gatewayRefusals[refusal];
  send(res, r.status, errorBody(r.code, r.message), { 'Retry-After': String(r.retryAfterSeconds) });
}

function proxyEvent(
  req: IncomingMessage,
  url: URL,
  body: string,
  resource: string,
  pathParameters: Record<string, string>,
  authorizer: Record<string, unknown> | null,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const value = req.rawHeaders[i + 1] as string;
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const query = [...url.searchParams.keys()];
  return {
    resource,
    path: url.pathname,
    httpMethod: req.method ?? 'GET',
    headers,
    multiValueHeaders,
    queryStringParameters: query.length > 0 ? Object.fromEntries(url.searchParams) : null,
    multiValueQueryStringParameters:
      query.length > 0 ? Object.fromEntries(query.map((k) => [k, url.searchParams.getAll(k)])) : null,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    stageVariables: null,
    body: body === '' ? null : body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer,
      httpMethod: req.method ?? 'GET',
      identity: {
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? null,
      } as APIGatewayProxyEvent['requestContext']['identity'],
      path: url.pathname,
      protocol: 'HTTP/1.1',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: resource,
      stage: 'local',
    },
  };
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => done(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function normalizeHeaders(headers: APIGatewayProxyResult['headers']): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, String(v)]));
}

export function send(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body);
}
