import { errorBody } from '../../shared/http/error-body.ts';
import type { DevIssuer } from '../dev-issuer.ts';
import type { GatewayRequest } from './gateway.ts';

export type Answer = [status: number, body: string];

/** The whole Host header: a loopback name and at most a port, nothing before or after. */
const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/i;

/**
 * The local-only routes (never in the wiring table, never deployed): the dev issuer's JWKS and
 * `POST /dev/tokens`. They answer only requests addressed to a loopback name, so a web page that
 * rebinds its own DNS name to 127.0.0.1 cannot mint an admin token, and `/dev/tokens` only JSON
 * bodies, so a cross-site form post (text/plain) cannot either. Undefined: not a dev route here.
 */
export async function devRoute(
  issuer: DevIssuer,
  req: GatewayRequest,
  path: string,
): Promise<Answer | undefined> {
  const { method } = req;
  const isJwks = method === 'GET' && path === '/.well-known/jwks.json';
  const isMint = method === 'POST' && path === '/dev/tokens';
  if (!(isJwks || isMint) || !isLoopbackHost(req.headers.host)) return undefined;
  if (isJwks) return [200, JSON.stringify(issuer.jwks)];
  if (mediaType(req.headers['content-type']) !== 'application/json')
    return [
      415,
      errorBody('UNSUPPORTED_MEDIA_TYPE', 'POST /dev/tokens takes Content-Type: application/json'),
    ];
  return mintToken(issuer, req.body);
}

/** The Host header is a loopback name, with or without a port (`[::1]evil.example` is not). */
export function isLoopbackHost(host: string | undefined): boolean {
  return host !== undefined && LOOPBACK_HOST.test(host);
}

/** `Application/JSON; charset=utf-8` → `application/json`. */
function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

async function mintToken(issuer: DevIssuer, body: string): Promise<Answer> {
  let input: unknown;
  try {
    input = JSON.parse(body || '{}');
  } catch {
    return [400, errorBody('INVALID_JSON', 'The body is not valid JSON')];
  }
  const { userId, admin } = (input ?? {}) as { userId?: unknown; admin?: unknown };
  if (
    typeof userId !== 'string' ||
    !/^[A-Za-z0-9_@.-]{1,128}$/.test(userId) ||
    (admin !== undefined && typeof admin !== 'boolean')
  ) {
    return [400, errorBody('VALIDATION_ERROR', 'Send {"userId": string, "admin"?: boolean}')];
  }
  return [200, JSON.stringify({ token: await issuer.sign(userId, admin === true) })];
}
