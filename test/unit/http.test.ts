import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config.ts';
import { placeOrderBody } from '../../shared/contract.ts';
import { DomainError } from '../../shared/domain/errors.ts';
import { json, route } from '../../shared/http/route.ts';

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
      authorizer: { userId: 'u1', admin: 'false' },
    } as unknown as APIGatewayProxyEvent['requestContext'],
    ...overrides,
  };
}

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
        authorizer: { userId: 'a', admin: 'true' },
      } as unknown as APIGatewayProxyEvent['requestContext'],
    });
    expect((await adminOnly(admin, context)).statusCode).toBe(200);
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
      ORDERS_QUEUE_URL: 'http://q/orders.fifo',
      TOKEN_SIGNING_KEY: 'k'.repeat(32),
    };
    expect(() => loadConfig('placeOrder', { ...env, CHECKOUT_MAX_ATTEMPTS: 'lots' })).toThrow(
      /CHECKOUT_MAX_ATTEMPTS/,
    );
    const config = loadConfig('placeOrder', env);
    expect(config.tableName('sales')).toBe('s');
    expect(config.checkout.CHECKOUT_MAX_ATTEMPTS).toBe(8);
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
});
