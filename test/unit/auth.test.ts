import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayAuthorizerResult, Context } from 'aws-lambda';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { devIssuer } from '../../local/dev-issuer.ts';
import { counterKey } from '../../shared/adapters/dynamo/keys.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../shared/auth/dev-issuer.ts';
import { jwtVerifier, SUBJECT, type VerifierOptions, verifierFromConfig } from '../../shared/auth/verify.ts';
import { ConfigError, loadConfig } from '../../shared/config.ts';
import { orderIdFor } from '../../shared/domain/order.ts';

const ISSUER = 'https://issuer.example.test';
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let privateKey: PrivateKey;
let jwks: { keys: JWK[] };

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  privateKey = pair.privateKey;
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
});

const now = () => Math.floor(Date.now() / 1000);

/** Signs exactly the claims given (nothing added), so each test controls every claim. */
const sign = (claims: JWTPayload, key: PrivateKey | Uint8Array = privateKey, alg = 'RS256') =>
  new SignJWT(claims).setProtectedHeader({ alg, kid: 'k1' }).sign(key);

const valid = (extra: JWTPayload = {}): JWTPayload => ({
  iss: ISSUER,
  sub: 'alice',
  exp: now() + 600,
  ...extra,
});

const verifier = (options: Partial<VerifierOptions> = {}) =>
  jwtVerifier({ issuer: ISSUER, keys: { jwks }, adminClaim: 'cognito:groups', ...options });

const bearer = async (claims: JWTPayload, options: Partial<VerifierOptions> = {}) =>
  verifier(options)(`Bearer ${await sign(claims)}`);

describe('bearer token rules', () => {
  it('accepts a valid token and carries its exp', async () => {
    const claims = valid({ 'cognito:groups': ['admin'] });
    expect(await bearer(claims)).toEqual({ userId: 'alice', admin: true, exp: claims.exp });
  });

  it('requires exp', async () => {
    const { exp: _exp, ...noExp } = valid();
    expect(await bearer(noExp)).toBeUndefined();
  });

  it('refuses an expired token', async () => {
    expect(await bearer(valid({ exp: now() - 120 }))).toBeUndefined();
  });

  it('requires sub, bounded to 128 characters of a safe charset', async () => {
    const { sub: _sub, ...noSub } = valid();
    expect(await bearer(noSub)).toBeUndefined();
    expect(await bearer(valid({ sub: '' }))).toBeUndefined();
    expect(await bearer(valid({ sub: 'a'.repeat(129) }))).toBeUndefined();
    expect(await bearer(valid({ sub: 'a'.repeat(128) }))).toMatchObject({ userId: 'a'.repeat(128) });
    for (const sub of ['a#b', 'a b', 'a/b', 'a\u0000b', 'é', '-lead', '|lead'])
      expect(await bearer(valid({ sub })), sub).toBeUndefined();
    // Issue 18: other issuers' subjects carry `|` (Auth0: `auth0|abc`).
    for (const sub of ['auth0|abc', 'google-oauth2|1234567890'])
      expect(await bearer(valid({ sub })), sub).toMatchObject({ userId: sub });
  });

  it('keeps keys and order ids unambiguous: no accepted subject holds their separators', () => {
    const accepted = Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)).filter((c) =>
      SUBJECT.test(`a${c}`),
    );
    expect(accepted).toContain('|');
    expect(accepted).not.toContain('#');
    expect(accepted).not.toContain('\u0000');
    expect(counterKey('drop-1', 'auth0|abc')).toBe('SALE#drop-1#BUYER#auth0|abc');
    expect(orderIdFor('auth0|a', 'b', 'k')).not.toBe(orderIdFor('auth0', 'a|b', 'k'));
  });

  it('refuses another issuer, another key, a symmetric algorithm and a malformed header', async () => {
    expect(await bearer(valid({ iss: 'https://evil.example' }))).toBeUndefined();
    const other = await generateKeyPair('RS256');
    expect(await verifier()(`Bearer ${await sign(valid(), other.privateKey)}`)).toBeUndefined();
    const hmac = new TextEncoder().encode('x'.repeat(32));
    expect(await verifier()(`Bearer ${await sign(valid(), hmac, 'HS256')}`)).toBeUndefined();
    const token = await sign(valid());
    for (const header of [token, `Basic ${token}`, `Bearer  ${token}`, `Bearer ${token} x`, undefined])
      expect(await verifier()(header)).toBeUndefined();
  });

  it('checks Cognito access tokens: token_use and client_id', async () => {
    const cognito = { cognito: { tokenUse: 'access' as const, clientId: 'app-1' } };
    const access = valid({ token_use: 'access', client_id: 'app-1' });
    expect(await bearer(access, cognito)).toMatchObject({ userId: 'alice' });
    expect(await bearer({ ...access, token_use: 'id' }, cognito)).toBeUndefined();
    expect(await bearer({ ...access, client_id: 'app-2' }, cognito)).toBeUndefined();
    const { token_use: _t, ...noUse } = access;
    expect(await bearer(noUse, cognito)).toBeUndefined();
  });

  it('checks Cognito id tokens: token_use and aud', async () => {
    const cognito = { cognito: { tokenUse: 'id' as const, clientId: 'app-1' } };
    const id = valid({ token_use: 'id', aud: 'app-1' });
    expect(await bearer(id, cognito)).toMatchObject({ userId: 'alice' });
    expect(await bearer({ ...id, aud: 'app-2' }, cognito)).toBeUndefined();
    expect(await bearer({ ...id, token_use: 'access' }, cognito)).toBeUndefined();
  });

  it('checks the configured audience of other issuers', async () => {
    expect(await bearer(valid({ aud: 'shop' }), { audience: 'shop' })).toMatchObject({ userId: 'alice' });
    expect(await bearer(valid({ aud: 'other' }), { audience: 'shop' })).toBeUndefined();
    expect(await bearer(valid(), { audience: 'shop' })).toBeUndefined();
  });

  it('reads admin membership from exactly the one configured claim', async () => {
    expect(await bearer(valid({ groups: ['admin'] }))).toMatchObject({ admin: false });
    expect(await bearer(valid({ 'cognito:groups': 'admin' }))).toMatchObject({ admin: false });
    expect(await bearer(valid({ roles: ['admin'] }), { adminClaim: 'roles' })).toMatchObject({ admin: true });
    expect(await bearer(valid({ 'cognito:groups': ['admin'] }), { adminClaim: 'roles' })).toMatchObject({
      admin: false,
    });
  });

  it('makes admins only from the admin pool when one is configured (MFA lives there)', async () => {
    const ADMIN_ISSUER = 'https://admin-issuer.example.test';
    const adminPair = await generateKeyPair('RS256', { extractable: true });
    const adminJwks = { keys: [{ ...(await exportJWK(adminPair.publicKey)), kid: 'k1', alg: 'RS256' }] };
    const cognito = { tokenUse: 'id' as const, clientId: 'buyers' };
    const verify = verifier({
      cognito,
      admins: {
        issuer: ADMIN_ISSUER,
        keys: { jwks: adminJwks },
        cognito: { tokenUse: 'id', clientId: 'ops' },
      },
    });
    const buyerClaims = valid({ token_use: 'id', aud: 'buyers' });
    const adminClaims = { ...valid({ token_use: 'id', aud: 'ops' }), iss: ADMIN_ISSUER, sub: 'olga' };
    // A buyer-pool token in the admin group is no admin: the group claim of that pool is ignored.
    expect(
      await verify(`Bearer ${await sign({ ...buyerClaims, 'cognito:groups': ['admin'] })}`),
    ).toMatchObject({
      userId: 'alice',
      admin: false,
    });
    const fromAdminPool = async (claims: JWTPayload, key: PrivateKey = adminPair.privateKey) =>
      verify(`Bearer ${await sign(claims, key)}`);
    expect(await fromAdminPool({ ...adminClaims, 'cognito:groups': ['admin'] })).toMatchObject({
      userId: 'olga',
      admin: true,
    });
    expect(await fromAdminPool(adminClaims)).toMatchObject({ admin: false });
    // The admin pool's own app client only, and its own keys only.
    expect(
      await fromAdminPool({ ...adminClaims, aud: 'buyers', 'cognito:groups': ['admin'] }),
    ).toBeUndefined();
    expect(await fromAdminPool({ ...adminClaims, 'cognito:groups': ['admin'] }, privateKey)).toBeUndefined();
  });

  it('takes the key set inline (JWKS_JSON) as well as from a URL', async () => {
    const verify = verifierFromConfig({
      JWT_ISSUER: ISSUER,
      JWKS_JSON: JSON.stringify(jwks),
      JWT_ADMIN_CLAIM: 'cognito:groups',
    });
    expect(await verify(`Bearer ${await sign(valid())}`)).toMatchObject({ userId: 'alice' });
  });
});

describe('the local dev issuer', () => {
  it('publishes only public key material and signs tokens the shared verifier accepts, admin in the configured claim', async () => {
    const keyFile = join(mkdtempSync(join(tmpdir(), 'issuer-')), 'key.json');
    const issuer = await devIssuer(keyFile);
    for (const key of issuer.jwks.keys) {
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(secret);
    }
    const verify = verifierFromConfig({
      JWT_ISSUER: DEV_ISSUER,
      JWKS_JSON: JSON.stringify(issuer.jwks),
      JWT_AUDIENCE: DEV_AUDIENCE,
      JWT_ADMIN_CLAIM: loadConfig('authorizer', {
        JWT_ISSUER: DEV_ISSUER,
        JWKS_URL: 'http://x/jwks',
        JWT_AUDIENCE: DEV_AUDIENCE,
      }).auth.JWT_ADMIN_CLAIM,
    });
    expect(await verify(`Bearer ${await issuer.sign('carol', true)}`)).toMatchObject({
      userId: 'carol',
      admin: true,
    });
    // The same key comes back from disk, so `npm run token` and the server agree.
    const again = await devIssuer(keyFile);
    expect(await verify(`Bearer ${await again.sign('dave')}`)).toMatchObject({
      userId: 'dave',
      admin: false,
    });
  });
});

describe('auth configuration', () => {
  const routeEnv = { ORDERS_TABLE: 'o' };
  it('demands the auth settings of a protected route only in AUTH_MODE=verify', () => {
    expect(loadConfig('getOrder', routeEnv).authMode).toBe('authorizer');
    expect(() => loadConfig('getOrder', { ...routeEnv, AUTH_MODE: 'verify' })).toThrow(/JWT_ISSUER/);
    const verify = loadConfig('getOrder', {
      ...routeEnv,
      AUTH_MODE: 'verify',
      JWT_ISSUER: ISSUER,
      JWKS_JSON: JSON.stringify({ keys: [{ kty: 'RSA' }] }),
      JWT_AUDIENCE: 'shop',
    });
    expect(verify.auth.JWT_ISSUER).toBe(ISSUER);
    // A public route never needs them.
    expect(loadConfig('health', { AUTH_MODE: 'verify' }).authMode).toBe('verify');
  });

  it('wants exactly one key source, a key set that parses, and Cognito settings for a Cognito issuer', () => {
    const base = { JWT_ISSUER: ISSUER };
    expect(() => loadConfig('authorizer', base)).toThrow(/JWKS_URL/);
    expect(() =>
      loadConfig('authorizer', { ...base, JWKS_URL: 'https://x/jwks', JWKS_JSON: JSON.stringify(jwks) }),
    ).toThrow(/exactly one/);
    expect(() => loadConfig('authorizer', { ...base, JWKS_JSON: '{"keys":' })).toThrow(/JWKS_JSON/);
    // Issue 18: an issuer other than Cognito without an audience would accept tokens it minted for
    // any other application; the config names JWT_AUDIENCE (and a route in verify mode is the same).
    const keyed = { ...base, JWKS_JSON: JSON.stringify(jwks) };
    expect(() => loadConfig('authorizer', keyed)).toThrow(
      /JWT_AUDIENCE: required for an issuer other than Cognito/,
    );
    expect(() => loadConfig('getOrder', { ...keyed, ORDERS_TABLE: 'o', AUTH_MODE: 'verify' })).toThrow(
      /set JWT_AUDIENCE/,
    );
    expect(loadConfig('authorizer', { ...keyed, JWT_AUDIENCE: 'shop' }).auth.JWT_AUDIENCE).toBe('shop');
    const cognito = {
      JWT_ISSUER: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc',
      JWKS_URL: 'https://x/j',
    };
    expect(() => loadConfig('authorizer', cognito)).toThrow(ConfigError);
    expect(() => loadConfig('authorizer', { ...cognito, JWT_TOKEN_USE: 'access' })).toThrow(/JWT_CLIENT_ID/);
    expect(
      loadConfig('authorizer', { ...cognito, JWT_TOKEN_USE: 'access', JWT_CLIENT_ID: 'app' }).auth
        .JWT_TOKEN_USE,
    ).toBe('access');
  });
});

describe('the authorizer', () => {
  it('puts the caller and the token exp into its context, and refuses a bad token with Unauthorized', async () => {
    Object.assign(process.env, {
      JWT_ISSUER: ISSUER,
      JWKS_JSON: JSON.stringify(jwks),
      JWT_AUDIENCE: 'shop',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    const { handler } = await import('../../functions/auth/authorizer.ts');
    const context = { functionName: 'authorizer', awsRequestId: 'r' } as unknown as Context;
    const claims = valid({ 'cognito:groups': ['admin'], aud: 'shop' });
    const event = (token: string) => ({
      type: 'TOKEN' as const,
      authorizationToken: `Bearer ${token}`,
      methodArn: 'arn:aws:execute-api:eu-west-1:1:api/prod/GET/orders/x',
    });
    const result = (await handler(event(await sign(claims)), context)) as APIGatewayAuthorizerResult;
    expect(result.context).toEqual({ userId: 'alice', admin: 'true', exp: claims.exp });
    await expect(handler(event(await sign(valid({ exp: now() - 60 }))), context)).rejects.toThrow(
      'Unauthorized',
    );
    // A token the same issuer minted for another application.
    await expect(handler(event(await sign(valid({ aud: 'other-app' }))), context)).rejects.toThrow(
      'Unauthorized',
    );
  });
});
