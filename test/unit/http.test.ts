import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { jwtVerifier } from '../../shared/auth/verify.ts';
import { ConfigError, corsOriginsFrom, loadConfig } from '../../shared/config.ts';
import { listOrdersQuery, placeOrderBody } from '../../shared/contract.ts';
import { DomainError } from '../../shared/domain/errors.ts';
import { caller, json, route } from '../../shared/http/route.ts';
import { firstDuplicateKey, isJsonMediaType } from '../../shared/http/strict-json.ts';

const context = {
  functionName: 'test',
  awsRequestId: 'r',
  getRemainingTimeInMillis: () => 1000,
} as unknown as Context;

function event(overrides: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent {
  return {
    httpMethod: 'POST',
    path: '/x',
    resource: '/x',
    headers: { 'Content-Type': 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: '{"quantity":1,"paymentToken":"tok_ok"}',
    isBase64Encoded: false,
    requestContext: {
      authorizer: { userId: 'u1', admin: 'false', exp: String(IN_AN_HOUR) },
    } as unknown as APIGatewayProxyEvent['requestContext'],
    ...overrides,
  };
}

const IN_AN_HOUR = Math.floor(Date.now() / 1000) + 3_600;

const echo = route({ auth: 'buyer', jsonBody: true }, async (e) => json(200, placeOrderBody.parse(e.body)));
const adminOnly = route({ auth: 'admin' }, async () => json(200, { ok: true }));
const failing = (error: unknown) => route({ auth: 'public' }, async () => Promise.reject(error));

describe('the route middleware stack', () => {
  it('parses a JSON object body and passes it to the handler', async () => {
    const res = await echo(event(), context);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ quantity: 1, paymentToken: 'tok_ok' });
  });

  it('maps zod issues to 400 VALIDATION_ERROR with details', async () => {
    const res = await echo(event({ body: '{"quantity":0,"paymentToken":"tok_ok"}' }), context);
    expect(res.statusCode).toBe(400);
    expect(res.headers?.['Content-Type']).toBe('application/json');
    expect(JSON.parse(res.body).error).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: [{ path: 'quantity' }],
    });
  });

  it('checks roles from the authorizer context', async () => {
    expect((await adminOnly(event({ body: null }), context)).statusCode).toBe(403);
    const anonymous = event({ body: null, requestContext: {} as APIGatewayProxyEvent['requestContext'] });
    expect(JSON.parse((await adminOnly(anonymous, context)).body).error.code).toBe('UNAUTHORIZED');
    const admin = event({
      body: null,
      requestContext: {
        authorizer: { userId: 'a', admin: 'true', exp: IN_AN_HOUR },
      } as unknown as APIGatewayProxyEvent['requestContext'],
    });
    expect((await adminOnly(admin, context)).statusCode).toBe(200);
  });

  it('refuses an authorizer context whose exp has passed or is missing (a cached Allow outlives no token)', async () => {
    const withContext = (authorizer: Record<string, unknown>) =>
      event({
        body: null,
        requestContext: { authorizer } as unknown as APIGatewayProxyEvent['requestContext'],
      });
    const past = Math.floor(Date.now() / 1000) - 5;
    for (const authorizer of [
      { userId: 'a', admin: 'true', exp: past },
      { userId: 'a', admin: 'true', exp: String(past) },
      { userId: 'a', admin: 'true' },
      { claims: { sub: 'a', 'cognito:groups': 'admin', exp: new Date(past * 1000).toUTCString() } },
    ]) {
      const res = await adminOnly(withContext(authorizer), context);
      expect(res.statusCode, JSON.stringify(authorizer)).toBe(401);
      expect(JSON.parse(res.body).error.code).toBe('UNAUTHORIZED');
    }
  });

  it("reads the Cognito authorizer's claims: sub, groups as API Gateway passes them, exp as a date", async () => {
    const claims = (groups: string) => ({
      claims: { sub: 'cog-1', 'cognito:groups': groups, exp: 'Fri Jan 01 00:00:00 UTC 2100' },
    });
    const run = (authorizer: Record<string, unknown>) =>
      adminOnly(
        event({
          body: null,
          requestContext: { authorizer } as unknown as APIGatewayProxyEvent['requestContext'],
        }),
        context,
      );
    expect((await run(claims('admin'))).statusCode).toBe(200);
    expect((await run(claims('[ops admin]'))).statusCode).toBe(200);
    expect((await run(claims('ops,admin'))).statusCode).toBe(200);
    expect((await run(claims('administrators'))).statusCode).toBe(403);
  });

  it("with an admins' pool, only that pool's tokens make an admin: the buyers' pool's groups do not count", async () => {
    vi.stubEnv('ADMIN_JWT_ISSUER', 'https://cognito-idp.example/admins');
    const adminsOnly = route({ auth: 'admin' }, async (e) => json(200, caller(e)));
    const from = (iss: string) =>
      adminsOnly(
        event({
          body: null,
          requestContext: {
            authorizer: {
              claims: { sub: 'cog-2', iss, 'cognito:groups': 'admin', exp: 'Fri Jan 01 00:00:00 UTC 2100' },
            },
          } as unknown as APIGatewayProxyEvent['requestContext'],
        }),
        context,
      );
    expect((await from('https://cognito-idp.example/buyers')).statusCode).toBe(403);
    const admitted = await from('https://cognito-idp.example/admins');
    expect(admitted.statusCode).toBe(200);
    expect(JSON.parse(admitted.body)).toEqual({ userId: 'cog-2', admin: true });
    vi.unstubAllEnvs();
  });

  it('adds Retry-After to RETRY and hides internals of unexpected errors', async () => {
    const retry = await failing(new DomainError('RETRY', 'busy', [], 1))(event(), context);
    expect(retry.statusCode).toBe(429);
    expect(retry.headers?.['Retry-After']).toBe('1');
    const boom = await failing(new Error('secret table name'))(event(), context);
    expect(boom.statusCode).toBe(500);
    expect(boom.body).not.toContain('secret');
    expect(JSON.parse(boom.body).error.code).toBe('INTERNAL');
  });

  it('answers RETRY, not a 5xx, when a handler runs into the function timeout', async () => {
    const slow = route({ auth: 'public' }, () => new Promise<never>(() => {}));
    const shortOfTime = { ...context, getRemainingTimeInMillis: () => 50 } as Context;
    const res = await slow(event(), shortOfTime);
    expect(res.statusCode).toBe(429);
    expect(res.headers?.['Retry-After']).toBe('1');
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'RETRY' });
  });
});

describe('configuration', () => {
  it('fails fast naming every variable to set', () => {
    expect(() => loadConfig('placeOrder', {})).toThrow(ConfigError);
    try {
      loadConfig('placeOrder', {});
    } catch (error) {
      expect(String(error)).toMatch(/SALES_TABLE/);
      expect(String(error)).toMatch(/ORDERS_TABLE/);
      expect(String(error)).toMatch(/ORDERS_QUEUE_URL/);
    }
  });

  it('rejects nonsense tuning values and accepts a complete environment', () => {
    const env = {
      SALES_TABLE: 's',
      ORDERS_TABLE: 'o',
      CLAIMS_TABLE: 'c',
      ORDERS_QUEUE_URL: 'http://q/orders.fifo',
      TOKEN_SIGNING_KEY: 'k'.repeat(32),
      PAYMENT_GATEWAY: 'simulated',
    };
    expect(() => loadConfig('placeOrder', { ...env, CHECKOUT_MAX_ATTEMPTS: 'lots' })).toThrow(
      /CHECKOUT_MAX_ATTEMPTS/,
    );
    const config = loadConfig('placeOrder', env);
    expect(config.tableName('sales')).toBe('s');
    expect(config.checkout.CHECKOUT_MAX_ATTEMPTS).toBe(8);
    expect(config.checkout.CHECKOUT_BUDGET_MS).toBe(3_000);
    expect(() => loadConfig('placeOrder', { ...env, CHECKOUT_BUDGET_MS: '50' })).toThrow(
      /CHECKOUT_BUDGET_MS/,
    );
    expect(() => config.tableName('payments')).toThrow(/no access/);
    expect(() =>
      loadConfig('processPayment', {
        ORDERS_TABLE: 'o',
        SALES_TABLE: 's',
        PAYMENTS_TABLE: 'p',
        ORDER_EVENTS_TOPIC_ARN: 'arn',
        PAYMENT_GATEWAY: 'stripe',
      }),
    ).toThrow(/PAYMENT_GATEWAY/);
  });
});

describe('CORS', () => {
  it('lets browsers read successes and errors', async () => {
    const ok = await echo(event(), context);
    expect(ok.headers?.['Access-Control-Allow-Origin']).toBe('*');
    const bad = await echo(event({ body: '{"quantity":0}' }), context);
    expect(bad.statusCode).toBe(400);
    expect(bad.headers?.['Access-Control-Allow-Origin']).toBe('*');
  });

  it('names only the configured origins (CORS_ORIGINS), for successes and errors alike', async () => {
    vi.stubEnv('CORS_ORIGINS', 'https://shop.example, https://admin.shop.example');
    const shop = route({ auth: 'buyer', jsonBody: true }, async (e) =>
      json(200, placeOrderBody.parse(e.body)),
    );
    vi.unstubAllEnvs();
    const from = (origin: string, body?: string) =>
      shop(
        event({ headers: { 'Content-Type': 'application/json', Origin: origin }, ...(body ? { body } : {}) }),
        context,
      );
    const ok = await from('https://shop.example');
    expect(ok.headers?.['Access-Control-Allow-Origin']).toBe('https://shop.example');
    expect(ok.headers?.Vary).toMatch(/Origin/);
    const bad = await from('https://admin.shop.example', '{"quantity":0}');
    expect(bad.statusCode).toBe(400);
    expect(bad.headers?.['Access-Control-Allow-Origin']).toBe('https://admin.shop.example');
    const evil = await from('https://evil.example');
    expect(evil.statusCode).toBe(200);
    expect(evil.headers?.['Access-Control-Allow-Origin']).toBeUndefined();
  });

  it('fails at cold start on a malformed CORS_ORIGINS, naming it', () => {
    expect(() => corsOriginsFrom({ CORS_ORIGINS: 'shop.example' })).toThrow(/set CORS_ORIGINS/);
    expect(() => corsOriginsFrom({ CORS_ORIGINS: 'https://shop.example/path' })).toThrow(ConfigError);
    expect(corsOriginsFrom({})).toEqual(['*']);
  });
});

describe('one reading per request (issue 18)', () => {
  const echoQuery = route({ auth: 'buyer' }, async (e) => json(200, { query: e.queryStringParameters }));

  it('refuses a header sent under two spellings, before the normaliser keeps one', async () => {
    const res = await echo(
      event({
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'b' },
        multiValueHeaders: { 'Idempotency-Key': ['a'], 'IDEMPOTENCY-KEY': ['b'] },
      }),
      context,
    );
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: [{ path: 'IDEMPOTENCY-KEY', message: 'sent as both Idempotency-Key and IDEMPOTENCY-KEY' }],
    });
  });

  it('refuses a header the API reads given twice under one key, as API Gateway may group them', async () => {
    const res = await echo(
      event({
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'b' },
        multiValueHeaders: { 'Content-Type': ['application/json'], 'Idempotency-Key': ['a', 'b'] },
      }),
      context,
    );
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error.details).toEqual([
      { path: 'Idempotency-Key', message: 'sent more than once' },
    ]);
    // Any other header may repeat (HTTP allows it): not refused here.
    const ok = await echo(
      event({ multiValueHeaders: { 'Content-Type': ['application/json'], Accept: ['a/b', 'c/d'] } }),
      context,
    );
    expect(ok.statusCode).toBe(200);
  });

  it('refuses a query parameter given twice, and lets single ones through', async () => {
    const twice = await echoQuery(
      event({
        body: null,
        queryStringParameters: { limit: '1' },
        multiValueQueryStringParameters: { limit: ['500', '1'] },
      }),
      context,
    );
    expect(twice.statusCode).toBe(400);
    expect(JSON.parse(twice.body).error.details).toEqual([{ path: 'limit', message: 'sent more than once' }]);
    const once = await echoQuery(
      event({
        body: null,
        queryStringParameters: { limit: '5' },
        multiValueQueryStringParameters: { limit: ['5'] },
      }),
      context,
    );
    expect(once.statusCode).toBe(200);
  });

  it('reads limit as plain decimal digits only', () => {
    expect(listOrdersQuery.parse({ limit: '16' })).toEqual({ limit: 16 });
    for (const limit of ['0x10', '1e2', ' 7', '', '+5', '0', '101', '0b1', '7.0'])
      expect(listOrdersQuery.safeParse({ limit }).success, limit).toBe(false);
  });
});

describe('in-route verification (AUTH_MODE=verify, no authorizer)', () => {
  const issuer = 'https://issuer.example.test';
  const setup = async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: 'RS256' }] };
    const verifier = jwtVerifier({ issuer, keys: { jwks }, adminClaim: 'cognito:groups' });
    const token = (sub: string, expSeconds: number, groups: string[] = []) =>
      new SignJWT({ 'cognito:groups': groups })
        .setProtectedHeader({ alg: 'RS256', kid: 'k' })
        .setIssuer(issuer)
        .setSubject(sub)
        .setExpirationTime(Math.floor(Date.now() / 1000) + expSeconds)
        .sign(privateKey);
    const whoAmI = route({ auth: 'buyer', verifier }, async (e) => json(200, caller(e)));
    const adminRoute = route({ auth: 'admin', verifier }, async () => json(200, { ok: true }));
    const bare = (authorization?: string) =>
      event({
        body: null,
        headers: authorization ? { Authorization: authorization } : {},
        requestContext: {} as APIGatewayProxyEvent['requestContext'],
      });
    return { token, whoAmI, adminRoute, bare };
  };

  it('serves a valid bearer token as its caller', async () => {
    const { token, whoAmI, adminRoute, bare } = await setup();
    const res = await whoAmI(bare(`Bearer ${await token('erin', 600)}`), context);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ userId: 'erin', admin: false });
    expect((await adminRoute(bare(`Bearer ${await token('erin', 600)}`), context)).statusCode).toBe(403);
    expect((await adminRoute(bare(`Bearer ${await token('ops', 600, ['admin'])}`), context)).statusCode).toBe(
      200,
    );
  });

  it('answers 401 in the contract shape for a missing, bad or expired token', async () => {
    const { token, whoAmI, bare } = await setup();
    const good = await token('erin', 600);
    const tampered = `${good.slice(0, -4)}AAAA`;
    for (const header of [
      undefined,
      'Bearer not-a-jwt',
      `Bearer ${tampered}`,
      `Bearer ${await token('erin', -60)}`,
    ]) {
      const res = await whoAmI(bare(header), context);
      expect(res.statusCode, String(header)).toBe(401);
      expect(JSON.parse(res.body).error.code).toBe('UNAUTHORIZED');
    }
  });

  it('trusts an authorizer context when there is one', async () => {
    const { whoAmI } = await setup();
    const res = await whoAmI(event({ body: null }), context);
    expect(JSON.parse(res.body)).toEqual({ userId: 'u1', admin: false });
  });
});

describe('strict JSON bodies', () => {
  it('finds repeated keys at any depth, decoded, and ignores strings that are values', () => {
    expect(firstDuplicateKey('{"a":1,"b":2}')).toBeUndefined();
    expect(firstDuplicateKey('{"a":1,"a":2}')).toBe('a');
    expect(firstDuplicateKey('{"a":1,"\\u0061":2}')).toBe('a');
    expect(firstDuplicateKey('{"x":{"a":1,"a" : 2}}')).toBe('a');
    expect(firstDuplicateKey('[{"a":1},{"a":2}]')).toBeUndefined();
    expect(firstDuplicateKey('{"a":"a","b":["a","a"],"c":{"a":1}}')).toBeUndefined();
    expect(firstDuplicateKey('{"a\\"":1,"a":2,"q":"\\\\"}')).toBeUndefined();
  });

  it('refuses a repeated key and accepts the JSON media type in any case', async () => {
    const dup = await echo(event({ body: '{"quantity":1,"quantity":5,"paymentToken":"tok_ok"}' }), context);
    expect(dup.statusCode).toBe(400);
    expect(JSON.parse(dup.body).error.code).toBe('INVALID_JSON');
    const upper = await echo(
      event({ headers: { 'Content-Type': 'Application/JSON; charset=UTF-8' } }),
      context,
    );
    expect(upper.statusCode).toBe(200);
    for (const type of ['text/json', 'application/json; charset=latin1', 'application/jsonx'])
      expect(isJsonMediaType(type), type).toBe(false);
  });
});

describe('tracing switch', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('loads no X-Ray SDK and adds no middleware when POWERTOOLS_TRACE_ENABLED is false', async () => {
    vi.stubEnv('POWERTOOLS_TRACE_ENABLED', 'false');
    vi.resetModules();
    const { traced } = await import('../../shared/tracing.ts');
    expect(traced()).toEqual([]);
  });

  it('adds the Powertools tracer middleware when tracing is on (the default)', async () => {
    vi.stubEnv('POWERTOOLS_TRACE_ENABLED', undefined);
    vi.resetModules();
    const { traced } = await import('../../shared/tracing.ts');
    const [middleware] = traced();
    expect(typeof middleware?.before).toBe('function');
    expect(typeof middleware?.after).toBe('function');
  });
});
