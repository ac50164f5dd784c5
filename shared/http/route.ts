import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import httpCors from '@middy/http-cors';
import httpErrorHandler from '@middy/http-error-handler';
import httpEventNormalizer from '@middy/http-event-normalizer';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { BearerVerifier } from '../auth/verify.ts';
import { adminIssuerFrom, corsOriginsFrom } from '../config.ts';
import { DomainError } from '../domain/errors.ts';
import { logger, metrics } from '../observability.ts';
import type { Auth } from '../wiring.ts';
import { contractErrors } from './errors.ts';
import { firstDuplicateKey, isJsonMediaType } from './strict-json.ts';
import { strictRequest } from './strict-request.ts';

export const MAX_BODY_BYTES = 16 * 1024;

export interface Identity {
  userId: string;
  admin: boolean;
}

export type HttpEvent = Omit<APIGatewayProxyEvent, 'body'> & { body: unknown };

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
  tracing?: MiddlewareObj[];
}

/**
 * The middleware stack every route shares: tracer (when given) → logger → metrics (when used) →
 * one spelling per header and one value per query parameter → header/event normalisation → size
 * limit → JSON body (routes with a body) → auth check → contract errors.
 */
export function route(options: RouteOptions, handler: Handler) {
  const corsOrigins = corsOriginsFrom();
  const adminIssuer = adminIssuerFrom();
  const stack = middy<HttpEvent, APIGatewayProxyResult>();
  if (options.tracing) stack.use(options.tracing as MiddlewareObj<HttpEvent, APIGatewayProxyResult>[]);
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
    // The origins are the deployment's (`-c corsOrigins`, `*` by default); a named list varies by Origin.
    .use(
      httpCors({
        origins: corsOrigins,
        exposeHeaders: 'Location,Retry-After',
        ...(corsOrigins.includes('*') ? {} : { vary: 'Origin' }),
      }),
    )
    .use(httpErrorHandler({ logger: false }))
    .use(contractErrors())
    .use(strictRequest())
    .use(httpHeaderNormalizer())
    .use(httpEventNormalizer())
    .use(bodyLimit(MAX_BODY_BYTES));
  if (options.jsonBody) stack.use(jsonObjectBody());
  stack.use(requireRole(options.auth, options.verifier, adminIssuer));
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

/**
 * The JSON body rules: the media type is application/json in any case (UTF-8 if a charset is
 * named; middy's parser matches it case-sensitively), the body parses, is an object (not null, 7
 * or "x"), and repeats no key.
 */
function jsonObjectBody(): MiddlewareObj<HttpEvent> {
  return {
    before: async ({ event }) => {
      const raw = event.body;
      if (typeof raw !== 'string' || raw === '') {
        throw new DomainError('VALIDATION_ERROR', 'A JSON object body is required');
      }
      if (!isJsonMediaType(event.headers?.['content-type']))
        throw new DomainError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json');
      const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new DomainError('INVALID_JSON', 'The body is not valid JSON');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new DomainError('VALIDATION_ERROR', 'The body must be a JSON object');
      }
      const repeated = firstDuplicateKey(text);
      if (repeated !== undefined)
        throw new DomainError('INVALID_JSON', `The body names "${repeated.slice(0, 64)}" more than once`);
      event.body = body;
    },
  };
}

/**
 * A header that must be sent exactly once: two copies (or one copy holding a comma-joined list)
 * are refused rather than one being picked.
 */
export function singleHeader(event: HttpEvent, name: string): string | undefined {
  const lower = name.toLowerCase();
  const values = Object.entries(event.multiValueHeaders ?? {})
    .filter(([key]) => key.toLowerCase() === lower)
    .flatMap(([, list]) => list ?? []);
  const value = event.headers?.[lower];
  if (values.length > 1 || value?.includes(','))
    throw new DomainError('VALIDATION_ERROR', `Send exactly one ${name} header`, [
      { path: name, message: 'sent more than once' },
    ]);
  return value;
}

/**
 * The authorizer proved who is calling (or, with a verifier and no authorizer context, the same
 * verifier does it here); this checks what they may do.
 */
function requireRole(auth: Auth, verifier?: BearerVerifier, adminIssuer?: string): MiddlewareObj<HttpEvent> {
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
      const who = identityOf(event, Date.now(), adminIssuer);
      if (!who) throw new DomainError('UNAUTHORIZED', 'A bearer token is required');
      if (auth === 'admin' && !who.admin) throw new DomainError('FORBIDDEN', 'This needs an admin');
      // One shape for the handlers (caller()), decided here once: Cognito claims become the
      // TOKEN authorizer's context, with admin settled against the admins' pool.
      event.requestContext = {
        ...event.requestContext,
        authorizer: { userId: who.userId, admin: String(who.admin), exp: who.expiresAt / 1000 },
      };
    },
  };
}

/**
 * The caller, as the authorizer put it into the request context: the TOKEN authorizer's context
 * (`userId`, `admin`, `exp`) or the Cognito user-pool authorizer's `claims` (`sub`,
 * `cognito:groups`, `exp`, every value a string). Either may be an answer API Gateway cached for
 * up to 300 s, so a context whose `exp` has passed (or that has none) is nobody. With an admins'
 * pool (`adminIssuer`), only a token that pool issued makes an admin: the buyers' pool's groups
 * do not count.
 */
export function identityOf(
  event: Pick<APIGatewayProxyEvent, 'requestContext'>,
  now: number = Date.now(),
  adminIssuer?: string,
): (Identity & { expiresAt: number }) | undefined {
  const context = event.requestContext?.authorizer as Record<string, unknown> | null | undefined;
  const claims = context?.claims as Record<string, unknown> | undefined;
  const who =
    claims && typeof claims === 'object'
      ? {
          userId: claims.sub,
          admin:
            groupsOf(claims['cognito:groups']).includes(ADMIN_GROUP) &&
            (adminIssuer === undefined || claims.iss === adminIssuer),
          exp: claims.exp,
        }
      : {
          userId: context?.userId,
          admin: context?.admin === 'true' || context?.admin === true,
          exp: context?.exp,
        };
  if (typeof who.userId !== 'string' || who.userId === '') return undefined;
  const expiresAt = epochMsOf(who.exp);
  if (expiresAt === undefined || expiresAt <= now) return undefined;
  return { userId: who.userId, admin: who.admin, expiresAt };
}

const ADMIN_GROUP = 'admin';

/** Cognito's groups claim as API Gateway passes it: `admin`, `[admin ops]` or `admin,ops`. */
function groupsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return typeof value === 'string' ? value.split(/[\s,[\]]+/).filter(Boolean) : [];
}

/** `exp` as epoch seconds (number or digits) or as API Gateway's date text for Cognito claims. */
function epochMsOf(exp: unknown): number | undefined {
  if (typeof exp === 'number') return Number.isFinite(exp) ? exp * 1000 : undefined;
  if (typeof exp !== 'string' || exp === '') return undefined;
  if (/^\d+$/.test(exp)) return Number(exp) * 1000;
  const ms = Date.parse(exp);
  return Number.isNaN(ms) ? undefined : ms;
}

export function caller(event: HttpEvent): Identity {
  const who = identityOf(event);
  if (!who) throw new DomainError('UNAUTHORIZED', 'A bearer token is required');
  return { userId: who.userId, admin: who.admin };
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
