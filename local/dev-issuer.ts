import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { DEV_AUDIENCE, DEV_ISSUER } from '../shared/auth/dev-issuer.ts';

export { DEV_AUDIENCE, DEV_ISSUER };

/** The local runtime's stand-in for Cognito: a key kept on disk, so `npm run token` and the server agree. */
/** RS256, as Cognito signs; it is also the cheapest to verify (~160 µs here against ~250 µs for ES256). */
const ALG = 'RS256';

export interface DevIssuer {
  jwks: { keys: JWK[] };
  sign(userId: string, admin?: boolean, ttlSeconds?: number): Promise<string>;
}

export async function devIssuer(keyFile: string): Promise<DevIssuer> {
  let privateJwk: JWK;
  if (existsSync(keyFile)) {
    privateJwk = JSON.parse(readFileSync(keyFile, 'utf8')) as JWK;
  } else {
    const { privateKey } = await generateKeyPair(ALG, { extractable: true });
    privateJwk = { ...(await exportJWK(privateKey)), kid: `dev-${Date.now().toString(36)}`, alg: ALG };
    mkdirSync(dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, JSON.stringify(privateJwk), { mode: 0o600 });
  }
  // A key file from an older version may use another algorithm; it stays valid.
  const alg = privateJwk.alg ?? ALG;
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = privateJwk;
  const key = await importJWK(privateJwk, alg);
  return {
    jwks: { keys: [{ ...publicJwk, use: 'sig' }] },
    sign: (userId, admin = false, ttlSeconds = 12 * 3600) =>
      new SignJWT({ 'cognito:groups': admin ? ['admin'] : [] })
        .setProtectedHeader({ alg, kid: privateJwk.kid as string })
        .setIssuer(DEV_ISSUER)
        .setAudience(DEV_AUDIENCE)
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(key),
  };
}
