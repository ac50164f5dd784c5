import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { decodeJwt } from 'jose';

/** API Gateway's authorizer cache TTL as the CDK app sets it (resultsCacheTtl). */
export const AUTHORIZER_CACHE_MS = 300_000;
const MAX_ENTRIES = 50_000;

export type AuthorizerAnswer =
  | { kind: 'allow'; result: APIGatewayAuthorizerResult }
  | { kind: 'deny' }
  | { kind: 'unauthorized' }
  /**
   * The authorizer itself was throttled, ran past its timeout or failed otherwise: the caller
   * should retry (API Gateway's AUTHORIZER_FAILURE is a 5xx, which the CDK app answers as RETRY).
   */
  | { kind: 'busy'; reason: 'throttled' | 'timedOut' | 'failed' };

/**
 * Plays API Gateway's TOKEN authorizer: invokes the authorizer function and caches an Allow per
 * token, but never past the token's own `exp` (an expired token must not ride on a cached answer),
 * and never caches a refusal (a token refused once may be fixed by a clock, a key rotation, …).
 */
export function cachedAuthorizer(
  invoke: (
    token: string,
    methodArn: string,
  ) => Promise<{ outcome: 'done'; value: unknown } | { outcome: 'throttled' } | { outcome: 'timedOut' }>,
  now: () => number = Date.now,
): (token: string | undefined, methodArn: string) => Promise<AuthorizerAnswer> {
  const cache = new Map<string, { result: APIGatewayAuthorizerResult; until: number }>();
  return async (token, methodArn) => {
    if (!token) return { kind: 'unauthorized' };
    const cached = cache.get(token);
    if (cached) {
      if (cached.until > now()) return { kind: 'allow', result: cached.result };
      cache.delete(token);
    }
    let invocation: Awaited<ReturnType<typeof invoke>>;
    try {
      invocation = await invoke(token, methodArn);
    } catch (error) {
      // API Gateway answers 401 for exactly this message; any other failure is its AUTHORIZER_FAILURE.
      if ((error as Error | undefined)?.message === 'Unauthorized') return { kind: 'unauthorized' };
      return { kind: 'busy', reason: 'failed' };
    }
    if (invocation.outcome !== 'done') return { kind: 'busy', reason: invocation.outcome };
    const result = invocation.value as APIGatewayAuthorizerResult;
    if (result.policyDocument.Statement.some((s) => s.Effect === 'Deny')) return { kind: 'deny' };
    const until = Math.min(now() + AUTHORIZER_CACHE_MS, expiryOf(token));
    if (until > now()) {
      if (cache.size >= MAX_ENTRIES) cache.clear();
      cache.set(token, { result, until });
    }
    return { kind: 'allow', result };
  };
}

/** Epoch ms of the token's `exp`; 0 (never cache) when it has none or is not a JWT. */
function expiryOf(token: string): number {
  try {
    const { exp } = decodeJwt(token.replace(/^Bearer\s+/i, ''));
    return typeof exp === 'number' ? exp * 1000 : 0;
  } catch {
    return 0;
  }
}
