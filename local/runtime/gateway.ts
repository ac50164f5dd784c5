import { randomUUID } from 'node:crypto';
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
import type { FrontRequest, FrontResponse } from './http-front.ts';
import type { ApiThrottle } from './throttle.ts';

/** A request as the gateway reads it: the front's, with its headers by lower-case name. */
export interface GatewayRequest extends FrontRequest {
  headers: Record<string, string>;
}

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
  devRoute?: (req: GatewayRequest, path: string) => Promise<[number, string] | undefined>;
}

/**
 * Plays API Gateway (REST, Lambda proxy): route matching (405 with `Allow` for a known path with
 * another method), throttling, the TOKEN authorizer, the proxy event, and its overload answers.
 */
export function gateway(deps: GatewayDeps): (request: FrontRequest) => Promise<FrontResponse> {
  const routes: Route[] = (Object.entries(functionSpecs) as [FunctionKey, FunctionSpec][]).flatMap(
    ([key, spec]) => (spec.http ? [{ key, ...spec.http, match: routeMatcher(spec.http.path) }] : []),
  );
  return async (request) => {
    const req: GatewayRequest = { ...request, headers: headersOf(request.rawHeaders) };
    let url: URL;
    try {
      url = new URL(req.url, 'http://local');
    } catch {
      return send(400, errorBody('VALIDATION_ERROR', 'The request target is not a valid path'));
    }
    const { method, body } = req;
    const cached = deps.edge?.lookup(req);
    if (cached) return frontResponseOf(cached);

    const dev = await deps.devRoute?.(req, url.pathname);
    if (dev) return send(...dev);

    let found: { route: Route; params: Record<string, string> }[];
    try {
      found = routes.flatMap((route) => {
        const params = route.match(url.pathname);
        return params ? [{ route, params }] : [];
      });
    } catch {
      // decodeURIComponent refused a malformed escape such as `%E0%A4%A`.
      return send(400, errorBody('VALIDATION_ERROR', 'The path has malformed percent-encoding'));
    }
    const hit = found.find((f) => f.route.method === method);
    if (!hit) {
      if (found.length === 0)
        return send(404, errorBody('NOT_FOUND', `No route for ${method} ${url.pathname}`));
      const allow = [...new Set(found.map((f) => f.route.method))].join(', ');
      return send(405, errorBody('METHOD_NOT_ALLOWED', `${method} is not supported here; use ${allow}`), {
        Allow: allow,
      });
    }
    if (!deps.throttle.admit(hit.route.key)) return refuse('throttled');

    let authorizer: Record<string, unknown> | null = null;
    if (hit.route.auth !== 'public') {
      const methodArn = `arn:aws:execute-api:${deps.region}:000000000000:local/local/${method}${url.pathname}`;
      const answer = await deps.authorize(req.headers.authorization, methodArn);
      if (answer.kind === 'unauthorized')
        return send(401, errorBody('UNAUTHORIZED', 'A valid bearer token is required'));
      if (answer.kind === 'deny') return send(403, errorBody('FORBIDDEN', 'Not allowed'));
      if (answer.kind === 'busy') return refuse(busyAuthorizer[answer.reason]);
      authorizer = authorizerContext(answer.result);
    }
    const event = proxyEvent(req, url, body, hit.route.path, hit.params, authorizer);
    const origin = () => deps.invoke(hit.route.key, event);
    const invocation = await (deps.edge ? deps.edge.through(req, origin) : origin());
    if (invocation.outcome === 'throttled') return refuse('functionThrottled');
    if (invocation.outcome === 'timedOut') return refuse('integrationTimeout');
    return frontResponseOf(invocation.value as APIGatewayProxyResult);
  };
}

const busyAuthorizer = {
  throttled: 'functionThrottled',
  timedOut: 'integrationTimeout',
  failed: 'authorizerFailure',
} as const satisfies Record<Extract<AuthorizerAnswer, { kind: 'busy' }>['reason'], GatewayRefusal>;

function frontResponseOf(result: APIGatewayProxyResult): FrontResponse {
  return { status: result.statusCode, headers: normalizeHeaders(result.headers), body: result.body };
}

function authorizerContext(result: APIGatewayAuthorizerResult): Record<string, unknown> {
  return { ...(result.context ?? {}), principalId: result.principalId };
}

function refuse(refusal: GatewayRefusal): FrontResponse {
  const r = gatewayRefusals[refusal];
  return send(r.status, errorBody(r.code, r.message), { 'Retry-After': String(r.retryAfterSeconds) });
}

function proxyEvent(
  req: GatewayRequest,
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
    httpMethod: req.method,
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
      httpMethod: req.method,
      identity: {
        sourceIp: req.remoteAddress,
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

function normalizeHeaders(headers: APIGatewayProxyResult['headers']): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, String(v)]));
}

function send(status: number, body: string, headers: Record<string, string> = {}): FrontResponse {
  return { status, headers: { 'Content-Type': 'application/json', ...headers }, body };
}

/** Node's rule: a repeated header's values joined by ", " (set-cookie aside, which requests lack). */
/**
 * Headers by lower-case name, as Node's `req.headers` reads them: a repeated header that can only
 * hold one value (Authorization, Content-Type, …) keeps its first copy, others are joined. The
 * proxy event's multiValueHeaders keep every copy, so the routes still refuse the repetition.
 */
function headersOf(rawHeaders: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = rawHeaders[i + 1] as string;
    if (!(name in headers)) headers[name] = value;
    else if (!SINGLE_VALUED.has(name)) headers[name] = `${headers[name]}, ${value}`;
  }
  return headers;
}

/** The headers whose duplicates Node's HTTP parser discards (node:http `IncomingMessage.headers`). */
const SINGLE_VALUED = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);
