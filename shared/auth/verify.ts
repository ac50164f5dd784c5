import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';

export interface VerifierOptions {
  issuer: string;
  jwksUrl: string;
  audience?: string;
}

export interface Principal {
  userId: string;
  admin: boolean;
}

/** Verifies bearer JWTs against an issuer's JWKS (Cognito, any OIDC issuer, or the local dev issuer). */
export function jwtVerifier(
  options: VerifierOptions,
): (bearer: string | undefined) => Promise<Principal | undefined> {
  // jose caches the key set and refetches on an unknown kid, with its own cooldown.
  const keys = createRemoteJWKSet(new URL(options.jwksUrl));
  return async (bearer) => {
    const token = /^Bearer\s+(\S+)$/i.exec(bearer ?? '')?.[1];
    if (!token) return undefined;
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        ...(options.audience ? { audience: options.audience } : {}),
      });
      return principalOf(payload);
    } catch {
      return undefined;
    }
  };
}

export function principalOf(payload: JWTPayload): Principal | undefined {
  if (typeof payload.sub !== 'string' || payload.sub === '') return undefined;
  const groups = payload['cognito:groups'] ?? payload.groups;
  return { userId: payload.sub, admin: Array.isArray(groups) && groups.includes('admin') };
}
