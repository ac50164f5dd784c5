import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import httpCors from '@middy/http-cors';
import httpErrorHandler from '@middy/http-error-handler';
import httpEventNormalizer from '@middy/http-event-normalizer';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { BearerVerifier } from '../auth/verify.ts';
import { DomainError } from '../domain/errors.ts';
import { logger, metrics } from '../observability.ts';
import type { Auth } from '../wiring.ts';
import { contractErrors } from './errors.ts';

export const MAX_BODY_BYTES = 16 * 1024;

export interface Identity {
  userId: string;
  admin: boolean;
}

export type HttpEvent = Omit<APIGatewayProxyEvent, 'body'> & { body: unknown; rawBody?: string };

type Handler = (event: HttpEvent, context: Context) => Promise<APIGatewayProxyResult>;

export interface RouteOptions {
  auth: Auth;
  /**
   * AUTH_MODE=verify: checks the bearer token in the route when no authorizer put a caller into
   * the request context (LocalStack Community has no Lambda authorizers). `inRouteVerifier(config)`.
   */
  verifier?: BearerVerifier;
  jsonBody?: boolean;
  metrics?: boolean;
  /** `traced()` from shared/tracing.ts; passed in so a route without it bundles no X-Ray SDK. */
  tracing?: MiddlewareObj;
}

/**
 * The middleware stack every route shares: tracer (when given) → logger → metrics (when used) →
 * header/event normalisation → size limit → JSON body (routes with a body) → auth check →
 * contract errors.
 */
export function route(options: RouteOptions, handler: Handler) {
  const stack = middy<HttpEvent, APIGatewayProxyResult>();
  if (options.tracing) stack.use(options.tracing as MiddlewareObj<HttpEvent, APIGatewayProxyResult>);
  stack.use(injectLambdaContext(logger, { resetKeys: true }));
  // Only routes that record metrics flush them, and those count every request, so no flush is
  // empty (Powertools warns on each empty one) and the dashboard gets the request rate.
  if (options.metrics) {
    stack.use(logMetrics(metrics)).use({
      before: async () => {
        metrics.addMetric('requests', MetricUnit.Count, 1);
      },
    });
  }
  stack
    // Browsers read responses (errors included) only with CORS headers; preflight is API Gateway's.
    // Any origin: callers authenticate with bearer tokens, never cookies.
    .use(httpCors({ origin: '*', exposeHeaders: 'Location,Retry-After' }))
    .use(httpErrorHandler({ logger: false }))
    .use(contractErrors())
    .use(httpHeaderNormalizer())
    .use(httpEventNormalizer())
    .use(bodyLimit(MAX_BODY_BYTES));
  if (options.jsonBody) stack.use(jsonObjectBody());
  stack.use(requireRole(options.auth, options.verifier));
  return stack.handler(handler);
}

function bodyLimit(maxBytes: number): MiddlewareObj<HttpEvent> {
  return {
    before: async ({ event }) => {
      const body = typeof event.body === 'string' ? event.body : '';
      const bytes = event.isBase64Encoded ? Math.floor((body.length * 3) / 4) : Buffer.byteLength(body);
      if (bytes > maxBytes)
        throw new DomainError('PAYLOAD_TOO_LARGE', `The body must be at most ${maxBytes} bytes`);
    },
  };
}

/** middy's JSON parser, plus the contract's rule that a body is an object (not null, 7 or "x"). */
function jsonObjectBody(): MiddlewareObj<HttpEvent> {
  const parser = httpJsonBodyParser({
    disableContentTypeError: false,
  }) as unknown as MiddlewareObj<HttpEvent>;
  return {
    before: async (request) => {
      if (request.event.body === null || request.event.body === undefined || request.event.body === '') {
        throw new DomainError('VALIDATION_ERROR', 'A JSON object body is required');
      }
      await parser.before?.(request);
      const body = request.event.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new DomainError('VALIDATION_ERROR', 'The body must be a JSON object');
      }
    },
  };
}

/**
 * The authorizer proved who is calling (or, with a verifier and no authorizer context, the same
 * verifier does it here); this checks what they may do.
 */
function requireRole(auth: Auth, verifier?: BearerVerifier): MiddlewareObj<HttpEvent> {
  return {
    before: async ({ event }) => {
      if (auth === 'public') return;
      if (verifier && !identityOf(event)) {
        const principal = await verifier(event.headers?.authorization);
        if (!principal) throw new DomainError('UNAUTHORIZED', 'A valid bearer token is required');
        event.requestContext = {
          ...event.requestContext,
          authorizer: { userId: principal.userId, admin: String(principal.admin), exp: principal.exp },
        };
      }
      const who = identityOf(event);
      if (!who) throw new DomainError('UNAUTHORIZED', 'A bearer token is required');
      if (auth === 'admin' && !who.admin) throw new DomainError('FORBIDDEN', 'This needs an admin');
    },
  };
}

/** The caller, as the authorizer put it into the request context. */
export function identityOf(event: Pick<APIGatewayProxyEvent, 'requestContext'>): Identity | undefined {
  const context = event.requestContext?.authorizer as Record<string, unknown> | null | undefined;
  const userId = context?.userId;
  if (typeof userId !== 'string' || userId === '') return undefined;
  return { userId, admin: context?.admin === 'true' || context?.admin === true };
}

export function caller(event: HttpEvent): Identity {
  const who = identityOf(event);
  if (!who) throw new DomainError('UNAUTHORIZED', 'A bearer token is required');
  return who;
}

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}
