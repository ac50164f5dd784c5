import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';

export interface VerifierOptions {
  issuer: string;
  /** Exactly one key source: the issuer's JWKS URL, or the key set itself (a LocalStack deploy gets the dev issuer's). */
  keys: { url: string } | { jwks: JSONWebKeySet };
  /** Generic issuers: the `aud` a token must carry. */
  audience?: string;
  /** Cognito: which token kind is accepted, and the app client it must have been issued to. */
  cognito?: { tokenUse: 'access' | 'id'; clientId: string };
  /** The one claim that lists the caller's groups; `admin` in it makes an admin. */
  adminClaim: string;
  /**
   * A second issuer for admins (the stack's admin user pool, where MFA is required). With it, only
   * its tokens can make an admin (`admin` in adminClaim), and the main issuer's tokens never do.
   */
  admins?: IssuerTrust;
}

/** One issuer this API trusts: where its keys are, and (Cognito) the token kind and app client. */
export interface IssuerTrust {
  issuer: string;
  keys: { url: string } | { jwks: JSONWebKeySet };
  cognito: { tokenUse: 'access' | 'id'; clientId: string };
}

export interface Principal {
  userId: string;
  admin: boolean;
  /** The token's expiry (epoch seconds): nothing may trust this answer past it. */
  exp: number;
}

/**
 * A buyer id: it ends up inside keys and logs, so bounded and of a safe charset. `|` is in it
 * because issuers put it in subjects (Auth0's `auth0|abc`, `google-oauth2|123`); `#`, the
 * separator of every key in shared/adapters/dynamo/keys.ts, and NUL, the separator of the order
 * id's hash input, are not, so a key or an order id still names exactly one (sale, buyer) pair.
 */
export const SUBJECT = /^[A-Za-z0-9][A-Za-z0-9_.@+|-]{0,127}$/;
/** Only asymmetric signatures: an HMAC "signed" with the public key is refused. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Bearer tokens longer than this are refused before any parsing. */
const MAX_TOKEN_CHARS = 8_192;

export type BearerVerifier = (bearer: string | undefined) => Promise<Principal | undefined>;

/**
 * Verifies bearer JWTs (Cognito, any OIDC issuer, or the local dev issuer): signature against the
 * issuer's key set, `iss`, `exp` (required), `sub` (required, bounded), Cognito's `token_use` and
 * `client_id` / `aud`, or the configured audience; with `admins`, the admin pool's tokens by its
 * own keys and app client. The authorizer and the in-route check share it.
 */
export function jwtVerifier(options: VerifierOptions): BearerVerifier {
  const main = issuerVerifier(options, options.admins ? { ...options, adminClaim: undefined } : options);
  const adminIssuer = options.admins?.issuer;
  const admins = options.admins
    ? issuerVerifier(options.admins, { ...options.admins, adminClaim: options.adminClaim })
    : undefined;
  return async (bearer) => {
    const token = /^Bearer ([A-Za-z0-9_.-]+)$/i.exec(bearer ?? '')?.[1];
    if (!token || token.length > MAX_TOKEN_CHARS) return undefined;
    // Which issuer's keys to try is read from the unverified `iss`; the verification then
    // demands that very issuer, so naming the other one gains nothing.
    if (admins && issuerOf(token) === adminIssuer) return admins(token);
    return main(token);
  };
}

function issuerOf(token: string): string | undefined {
  try {
    return decodeJwt(token).iss;
  } catch {
    return undefined;
  }
}

/** A verifier for one issuer; `adminClaim` undefined = its tokens never make an admin. */
function issuerVerifier(
  trust: Pick<VerifierOptions, 'issuer' | 'keys' | 'audience' | 'cognito'>,
  rules: Pick<VerifierOptions, 'cognito'> & { adminClaim: string | undefined },
): (token: string) => Promise<Principal | undefined> {
  // jose caches a remote key set and refetches on an unknown kid, with its own cooldown.
  const keys: JWTVerifyGetKey =
    'url' in trust.keys ? createRemoteJWKSet(new URL(trust.keys.url)) : createLocalJWKSet(trust.keys.jwks);
  const audience = trust.cognito
    ? trust.cognito.tokenUse === 'id'
      ? trust.cognito.clientId
      : undefined
    : trust.audience;
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: trust.issuer,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        ...(audience ? { audience } : {}),
      });
      return principalOf(payload, rules);
    } catch {
      return undefined;
    }
  };
}

/** The caller a verified payload names, or undefined when a rule beyond the signature fails. */
export function principalOf(
  payload: JWTPayload,
  rules: Pick<VerifierOptions, 'cognito'> & { adminClaim: string | undefined },
): Principal | undefined {
  if (typeof payload.sub !== 'string' || !SUBJECT.test(payload.sub)) return undefined;
  if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) return undefined;
  if (rules.cognito) {
    if (payload.token_use !== rules.cognito.tokenUse) return undefined;
    if (rules.cognito.tokenUse === 'access' && payload.client_id !== rules.cognito.clientId) return undefined;
  }
  const groups = rules.adminClaim === undefined ? undefined : payload[rules.adminClaim];
  return {
    userId: payload.sub,
    admin: Array.isArray(groups) && groups.includes('admin'),
    exp: payload.exp,
  };
}

/** The verifier a function's `auth` config group describes. */
export function verifierFromConfig(auth: {
  JWT_ISSUER: string;
  JWKS_URL?: string;
  JWKS_JSON?: string;
  JWT_AUDIENCE?: string;
  JWT_TOKEN_USE?: 'access' | 'id';
  JWT_CLIENT_ID?: string;
  JWT_ADMIN_CLAIM: string;
  ADMIN_JWT_ISSUER?: string;
  ADMIN_JWKS_URL?: string;
  ADMIN_JWT_CLIENT_ID?: string;
}): BearerVerifier {
  return jwtVerifier({
    issuer: auth.JWT_ISSUER,
    keys: auth.JWKS_JSON
      ? { jwks: JSON.parse(auth.JWKS_JSON) as JSONWebKeySet }
      : { url: auth.JWKS_URL as string },
    ...(auth.JWT_AUDIENCE ? { audience: auth.JWT_AUDIENCE } : {}),
    ...(auth.JWT_TOKEN_USE && auth.JWT_CLIENT_ID
      ? { cognito: { tokenUse: auth.JWT_TOKEN_USE, clientId: auth.JWT_CLIENT_ID } }
      : {}),
    adminClaim: auth.JWT_ADMIN_CLAIM,
    ...(auth.ADMIN_JWT_ISSUER && auth.ADMIN_JWKS_URL && auth.ADMIN_JWT_CLIENT_ID
      ? {
          admins: {
            issuer: auth.ADMIN_JWT_ISSUER,
            keys: { url: auth.ADMIN_JWKS_URL },
            cognito: { tokenUse: auth.JWT_TOKEN_USE ?? 'id', clientId: auth.ADMIN_JWT_CLIENT_ID },
          },
        }
      : {}),
  });
}

/** The route's own verifier in AUTH_MODE=verify; none under an authorizer (its context is trusted). */
export function inRouteVerifier(config: {
  authMode: 'authorizer' | 'verify';
  auth: Parameters<typeof verifierFromConfig>[0];
}): BearerVerifier | undefined {
  return config.authMode === 'verify' ? verifierFromConfig(config.auth) : undefined;
}
