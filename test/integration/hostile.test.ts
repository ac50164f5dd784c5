import { request } from 'node:http';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedTokens } from '../../shared/auth/signed-token.ts';
import { type Harness, startHarness } from '../support/harness.ts';

/**
 * Issue 9 item 8: hostile inputs, each answered with a 4xx in the contract's shape that changes
 * nothing (both tables and the payment ledger unchanged, no message on orders.fifo). Requests go
 * out raw (node:http), so paths keep their malformed escapes and a header can be sent twice.
 */

let h: Harness;
let saleId: string;
let admin: string;
let buyer: string;
let otherBuyer: string;
/** A genuine nextToken the API gave `buyer`. */
let issued: string;
const BUYER = 'hostile-buyer';
const SHOP_ORIGIN = 'https://shop.example';

beforeAll(async () => {
  // AUTH_MODE=verify: routes also verify bearers themselves when no authorizer context is present.
  // CORS_ORIGINS: every answer names this origin only (issue 18), refusals included.
  h = await startHarness({ consumers: false, env: { AUTH_MODE: 'verify', CORS_ORIGINS: SHOP_ORIGIN } });
  ({ saleId } = await h.createSale({ totalStock: 20, perUserLimit: 3, shards: 2 }));
  admin = await h.token('admin', true);
  buyer = await h.token(BUYER);
  otherBuyer = await h.token('hostile-other');
  for (const key of ['h1', 'h2']) expect((await h.buy(BUYER, saleId, { key })).status).toBe(202);
  const page = await h.call('GET', '/me/orders?limit=1', { token: buyer });
  issued = page.body.nextToken as string;
  expect(issued).toEqual(expect.any(String));
  await h.drain(h.runtime.resources.queueUrls.orders);
});
afterAll(async () => {
  await h?.stop();
});

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** `headers` as an array goes out as written (`[name, value, ...]`): two spellings of one name stay two headers. */
function send(
  method: string,
  path: string,
  headers: Record<string, string | string[]> | string[],
  body?: string,
): Promise<Raw> {
  const url = new URL(h.runtime.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        // Node adds no Host to an array of headers.
        headers: Array.isArray(headers)
          ? [
              'Host',
              url.host,
              ...headers,
              ...(body !== undefined ? ['Content-Length', String(Buffer.byteLength(body))] : []),
            ]
          : {
              ...headers,
              ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}),
            },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Every item of the tables and the ledger: a refused request must leave this unchanged. */
async function snapshot(): Promise<string> {
  const { sales, orders, payments } = h.runtime.resources.tableNames;
  const all = await Promise.all(
    [sales, orders, payments].map(
      async (TableName) =>
        (await h.db.send(new ScanCommand({ TableName, ConsistentRead: true }))).Items ?? [],
    ),
  );
  return JSON.stringify(all.map((items) => items.map((i) => JSON.stringify(i)).sort()));
}

type Who = 'none' | 'buyer' | 'other' | 'admin' | { sub: string };

interface Case {
  family: string;
  name: string;
  method: string;
  path: () => string;
  who?: Who;
  headers?: Record<string, string | string[]>;
  /** Sent as written instead of `headers` (with Authorization appended). */
  rawHeaders?: string[];
  body?: string;
  status: number;
  /** Omitted where either of two honest codes would do (a malformed path: NOT_FOUND or VALIDATION_ERROR). */
  code?: string;
  /** For 405: methods the Allow header must list. */
  allow?: string[];
}

const json = { 'Content-Type': 'application/json' };
const okOrder = JSON.stringify({ quantity: 1, paymentToken: 'tok_ok' });
const buy = (name: string, c: Partial<Case> = {}): Case => ({
  family: 'order',
  name,
  method: 'POST',
  path: () => `/sales/${saleId}/orders`,
  who: 'buyer',
  headers: { ...json, 'Idempotency-Key': `hostile-${name.replace(/\W+/g, '-').slice(0, 40)}` },
  body: okOrder,
  status: 400,
  code: 'VALIDATION_ERROR',
  ...c,
});

const future = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
const goodSale = () => ({
  name: 'Hostile',
  price: 100,
  currency: 'EUR',
  totalStock: 10,
  perUserLimit: 2,
  startsAt: future(-1),
  endsAt: future(7),
});
let saleSeq = 0;
const sale = (name: string, change: Record<string, unknown> | ((body: string) => string)): Case => ({
  family: 'sale body',
  name,
  method: 'POST',
  path: () => '/sales',
  who: 'admin',
  headers: json,
  get body() {
    const body = { saleId: `hostile-${++saleSeq}`, ...goodSale() };
    return typeof change === 'function'
      ? change(JSON.stringify(body))
      : JSON.stringify({ ...body, ...change });
  },
  status: 400,
  code: 'VALIDATION_ERROR',
});

const pageTokenKey = () => process.env.TOKEN_SIGNING_KEY as string;
const forged = (payload: unknown, purpose = 'orders-page') =>
  signedTokens(pageTokenKey(), purpose).sign(payload);
const unsigned = (payload: unknown) => Buffer.from(JSON.stringify(payload)).toString('base64url');
const page = (name: string, token: () => string, who: Who = 'buyer'): Case => ({
  family: 'pagination token',
  name,
  method: 'GET',
  path: () => `/me/orders?nextToken=${encodeURIComponent(token())}`,
  who,
  status: 400,
  code: 'VALIDATION_ERROR',
});
/**
 * Changes one character in the middle of the token's last segment (its signature). Not the last
 * character: its low bits are base64url padding, which decoders ignore, so changing them can leave
 * the signature intact.
 */
const flip = (token: string) => {
  const at = token.lastIndexOf('.') + Math.floor((token.length - token.lastIndexOf('.')) / 2);
  return `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
};
const lastOrder = () =>
  JSON.parse(Buffer.from(issued.split('.')[0] as string, 'base64url').toString()) as {
    u: string;
    o: string;
    c: string;
  };

const badPath = (name: string, method: string, path: () => string, extra: Partial<Case> = {}): Case => ({
  family: 'path',
  name,
  method,
  path,
  who: 'buyer',
  status: 400,
  ...extra,
});

const notAllowed = (name: string, method: string, path: () => string, allow: string[]): Case => ({
  family: 'method',
  name,
  method,
  path,
  who: 'buyer',
  status: 405,
  code: 'METHOD_NOT_ALLOWED',
  allow,
});

const cases: Case[] = [
  // Forged pagination tokens: unsigned, tampered, foreign, or signed but empty / oversized.
  page('unsigned, well-typed (the old format)', () =>
    unsigned({ userId: BUYER, orderId: lastOrder().o, createdAt: lastOrder().c }),
  ),
  page('unsigned, empty fields', () => unsigned({ userId: BUYER, orderId: '', createdAt: '' })),
  page('unsigned, oversized orderId', () =>
    unsigned({ userId: BUYER, orderId: 'x'.repeat(1400), createdAt: 'c' }),
  ),
  page('signature flipped', () => flip(issued)),
  page(
    'payload swapped to another buyer, old signature',
    () => `${unsigned({ ...lastOrder(), u: 'hostile-other' })}.${issued.split('.')[1]}`,
  ),
  page('a genuine token used by another buyer', () => issued, 'other'),
  page('signature stripped', () => issued.split('.')[0] as string),
  page('three segments', () => `${issued}.x`),
  page('signed, empty orderId and createdAt', () => forged({ u: BUYER, o: '', c: '' })),
  page('signed, empty buyer', () => forged({ u: '', o: lastOrder().o, c: lastOrder().c })),
  page('signed, oversized orderId', () => forged({ u: BUYER, o: 'x'.repeat(600), c: lastOrder().c })),
  page('signed, createdAt not an instant', () => forged({ u: BUYER, o: lastOrder().o, c: 'yesterday' })),
  page('signed, extra field', () => forged({ ...lastOrder(), pk: 'SALE#x' })),
  page('signed, numbers for strings', () => forged({ u: BUYER, o: 7, c: 8 })),
  page('signed, JSON null', () => forged(null)),
  page('signed for another purpose', () => forged(lastOrder(), 'admission')),
  page('empty nextToken', () => ''),
  page('nextToken over 2 KB', () => 'a'.repeat(2100)),
  {
    family: 'pagination token',
    name: 'two nextToken parameters',
    method: 'GET',
    path: () =>
      `/me/orders?nextToken=${encodeURIComponent(issued)}&nextToken=${encodeURIComponent(flip(issued))}`,
    who: 'buyer',
    status: 400,
    code: 'VALIDATION_ERROR',
  },
  { ...page('limit -0', () => issued), path: () => '/me/orders?limit=-0' },
  { ...page('limit 1e3', () => issued), path: () => '/me/orders?limit=1e3' },
  // Issue 18: a repeated or non-decimal value is refused, never one of them picked or converted.
  { ...page('limit twice (500 then 1)', () => issued), path: () => '/me/orders?limit=500&limit=1' },
  { ...page('limit twice, equal', () => issued), path: () => '/me/orders?limit=1&limit=1' },
  { ...page('limit in hex (0x10)', () => issued), path: () => '/me/orders?limit=0x10' },
  { ...page('limit with a plus sign', () => issued), path: () => '/me/orders?limit=%2B5' },
  { ...page('limit with a space', () => issued), path: () => '/me/orders?limit=%205' },
  { ...page('empty limit', () => issued), path: () => '/me/orders?limit=' },

  // Malformed percent-encoding and ids that decode to junk.
  badPath('invalid escape %ZZ', 'GET', () => '/sales/%ZZ'),
  badPath('truncated escape', 'GET', () => '/orders/%E0%A4%A'),
  badPath('lone percent', 'POST', () => `/sales/%/orders`, {
    headers: { ...json, 'Idempotency-Key': 'p1' },
    body: okOrder,
  }),
  badPath('overlong UTF-8 slash', 'DELETE', () => '/orders/%C0%AF'),
  badPath('decodes to a slash', 'GET', () => '/sales/a%2Fb', { code: 'VALIDATION_ERROR' }),
  badPath('decodes to NUL', 'GET', () => '/sales/%00', { code: 'VALIDATION_ERROR' }),
  badPath('decodes to a space', 'GET', () => '/orders/%20', { code: 'VALIDATION_ERROR' }),
  badPath('decodes to dot segments', 'GET', () => '/sales/..%2F..%2Fetc', { code: 'VALIDATION_ERROR' }),
  badPath('decodes to a key separator', 'POST', () => `/sales/${saleId}%23SHARD%230/orders`, {
    headers: { ...json, 'Idempotency-Key': 'p2' },
    body: okOrder,
    code: 'VALIDATION_ERROR',
  }),

  // Very long or unsafe subjects and ids.
  buy('sub of 129 characters', { who: { sub: 'u'.repeat(129) }, status: 401, code: 'UNAUTHORIZED' }),
  buy('sub of 10,000 characters', { who: { sub: 'u'.repeat(10_000) }, status: 401, code: 'UNAUTHORIZED' }),
  buy('sub with a key separator', { who: { sub: 'eve#SHARD#0' }, status: 401, code: 'UNAUTHORIZED' }),
  buy('sub with a space', { who: { sub: 'eve mallory' }, status: 401, code: 'UNAUTHORIZED' }),
  buy('sale id of 65 characters', { path: () => `/sales/${'s'.repeat(65)}/orders` }),
  buy('sale id of 4,000 characters', { path: () => `/sales/${'s'.repeat(4000)}/orders` }),
  badPath('order id of 65 characters', 'GET', () => `/orders/${'o'.repeat(65)}`, {
    code: 'VALIDATION_ERROR',
  }),
  badPath('order id of 2,000 characters', 'DELETE', () => `/orders/${'o'.repeat(2000)}`, {
    code: 'VALIDATION_ERROR',
  }),
  buy('Idempotency-Key of 10,000 characters', {
    headers: { ...json, 'Idempotency-Key': 'k'.repeat(10_000) },
  }),
  buy('paymentToken of 129 characters', {
    body: JSON.stringify({ quantity: 1, paymentToken: 't'.repeat(129) }),
  }),
  sale('saleId of 65 characters', { saleId: 's'.repeat(65) }),
  sale('name of 201 characters', { name: 'n'.repeat(201) }),

  // Duplicate JSON keys and duplicate Idempotency-Key headers: refused, never one picked.
  buy('quantity twice', {
    body: '{"quantity":1,"quantity":3,"paymentToken":"tok_ok"}',
    code: 'INVALID_JSON',
  }),
  buy('paymentToken twice', {
    body: '{"quantity":1,"paymentToken":"tok_decline","paymentToken":"tok_ok"}',
    code: 'INVALID_JSON',
  }),
  buy('a key twice, once escaped', {
    body: '{"quantity":1,"\\u0071uantity":1,"paymentToken":"tok_ok"}',
    code: 'INVALID_JSON',
  }),
  buy('the same key and value twice', {
    body: '{"quantity":1,"paymentToken":"tok_ok","quantity":1}',
    code: 'INVALID_JSON',
  }),
  { ...sale('price twice', (b) => b.replace('"price":100', '"price":100,"price":0')), code: 'INVALID_JSON' },
  {
    ...sale('perUserLimit twice', (b) =>
      b.replace('"perUserLimit":2', '"perUserLimit":2,"perUserLimit":1000'),
    ),
    code: 'INVALID_JSON',
  },
  buy('two Idempotency-Key headers', { headers: { ...json, 'Idempotency-Key': ['dup-a', 'dup-b'] } }),
  buy('two equal Idempotency-Key headers', { headers: { ...json, 'Idempotency-Key': ['dup-c', 'dup-c'] } }),
  buy('a comma-joined Idempotency-Key', { headers: { ...json, 'Idempotency-Key': 'dup-d, dup-e' } }),
  // Issue 18: two spellings of one header reach the handler as two entries; refused before the
  // normaliser (which keeps one) runs.
  buy('Idempotency-Key and IDEMPOTENCY-KEY', {
    rawHeaders: [
      'Content-Type',
      'application/json',
      'Idempotency-Key',
      'case-a',
      'IDEMPOTENCY-KEY',
      'case-b',
    ],
  }),
  buy('Content-Type and content-type', {
    rawHeaders: [
      'Content-Type',
      'application/json',
      'content-type',
      'text/plain',
      'Idempotency-Key',
      'case-c',
    ],
  }),
  {
    ...page('Authorization and AUTHORIZATION', () => issued),
    path: () => '/me/orders',
    who: 'none',
    get rawHeaders() {
      return ['Authorization', `Bearer ${buyer}`, 'AUTHORIZATION', `Bearer ${otherBuyer}`];
    },
  },

  // Media types: any case is the same type (these fail later, on purpose, for the body); others are 415.
  buy('Application/JSON; charset=UTF-8 with quantity 0', {
    headers: { 'Content-Type': 'Application/JSON; charset=UTF-8', 'Idempotency-Key': 'mt-1' },
    body: JSON.stringify({ quantity: 0, paymentToken: 'tok_ok' }),
  }),
  buy('APPLICATION/JSON with an unknown field', {
    headers: { 'Content-Type': 'APPLICATION/JSON', 'Idempotency-Key': 'mt-2' },
    body: JSON.stringify({ quantity: 1, paymentToken: 'tok_ok', coupon: 'x' }),
  }),
  buy('application/json;charset=utf-8 with a repeated key', {
    headers: { 'Content-Type': 'application/json;charset=utf-8', 'Idempotency-Key': 'mt-3' },
    body: '{"quantity":1,"quantity":1,"paymentToken":"tok_ok"}',
    code: 'INVALID_JSON',
  }),
  buy('charset latin1', {
    headers: { 'Content-Type': 'application/json; charset=latin1', 'Idempotency-Key': 'mt-4' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  }),
  buy('text/json', {
    headers: { 'Content-Type': 'text/json', 'Idempotency-Key': 'mt-5' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  }),
  buy('a form body', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Idempotency-Key': 'mt-6' },
    body: 'quantity=1&paymentToken=tok_ok',
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  }),
  buy('no Content-Type', {
    headers: { 'Idempotency-Key': 'mt-7' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  }),
  buy('two media types in one header', {
    headers: { 'Content-Type': 'application/json, text/plain', 'Idempotency-Key': 'mt-8' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  }),

  // Methods a route lacks: 405 with its own code and an Allow header.
  notAllowed('PUT a sale', 'PUT', () => `/sales/${saleId}`, ['GET']),
  notAllowed('DELETE the orders of a sale', 'DELETE', () => `/sales/${saleId}/orders`, ['POST']),
  notAllowed('POST an order', 'POST', () => '/orders/abc', ['GET', 'DELETE']),
  notAllowed('PATCH my orders', 'PATCH', () => '/me/orders', ['GET']),
  notAllowed('GET the orders of a sale', 'GET', () => `/sales/${saleId}/orders`, ['POST']),
  notAllowed('DELETE all sales', 'DELETE', () => '/sales', ['POST']),
  notAllowed('POST health', 'POST', () => '/health', ['GET']),

  // Sale bodies that make no sense.
  sale('perUserLimit above totalStock', { totalStock: 5, perUserLimit: 6 }),
  sale('a window already over', { startsAt: future(-3), endsAt: future(-1) }),
  sale('endsAt equal to startsAt', { startsAt: future(1), endsAt: future(1) }),
  sale('an unknown currency', { currency: 'XYZ' }),
  sale('the no-currency code XXX', { currency: 'XXX' }),
  sale('a NUL in the name', { name: 'Drop\u0000' }),
  sale('a right-to-left override in the name', { name: 'Drop \u202Egnp.exe' }),
  sale('a newline in the name', { name: 'Drop\nSecond line' }),
  sale('a name of spaces', { name: '    ' }),
  sale('price -0', (b) => b.replace('"price":100', '"price":-0')),
  sale('totalStock -0', (b) => b.replace('"totalStock":10', '"totalStock":-0')),
  sale('shards -0', (b) => b.replace('"perUserLimit":2', '"perUserLimit":2,"shards":-0')),
  sale('holdSeconds of 30 (under the payment retry window)', { holdSeconds: 30 }),
  sale('holdSeconds of 10^9', { holdSeconds: 1e9 }),
  sale('holdSeconds -0', (b) => b.replace('"perUserLimit":2', '"perUserLimit":2,"holdSeconds":-0')),
  sale('price 1e300', { price: 1e300 }),
  sale('a window in year 0', { startsAt: '0000-01-01T00:00:00Z', endsAt: '0001-01-01T00:00:00Z' }),
  sale('perUserLimit 0', { perUserLimit: 0 }),
];

async function tokenFor(who: Who | undefined): Promise<string | undefined> {
  if (who === undefined || who === 'none') return undefined;
  if (who === 'buyer') return buyer;
  if (who === 'other') return otherBuyer;
  if (who === 'admin') return admin;
  return h.runtime.issuer.sign(who.sub);
}

describe('hostile inputs get a contract-shaped 4xx and change nothing', () => {
  it(`has at least 60 cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });

  it.each(cases)('$family: $name → $status', async (c) => {
    const before = await snapshot();
    const token = await tokenFor(c.who);
    const reply = await send(
      c.method,
      c.path(),
      c.rawHeaders
        ? [...c.rawHeaders, ...(token ? ['Authorization', `Bearer ${token}`] : [])]
        : { ...(c.headers ?? {}), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      c.body,
    );
    expect(reply.status, reply.body).toBe(c.status);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(reply.body) as { error?: { code?: unknown; message?: unknown } };
    expect(body.error).toMatchObject({ code: c.code ?? expect.any(String), message: expect.any(String) });
    if (c.allow) {
      const allow = String(reply.headers.allow ?? '').split(/,\s*/);
      for (const method of c.allow) expect(allow).toContain(method);
    }
    expect(await snapshot()).toBe(before);
    expect(await h.drain(h.runtime.resources.queueUrls.orders)).toEqual([]);
  });
});

describe('what the table refuses, done right, is accepted', () => {
  it('buys with Application/JSON; charset=UTF-8, and pages with the token the API gave', async () => {
    const reply = await send(
      'POST',
      `/sales/${saleId}/orders`,
      {
        'Content-Type': 'Application/JSON; charset=UTF-8',
        'Idempotency-Key': 'media-type-case',
        Authorization: `Bearer ${buyer}`,
      },
      okOrder,
    );
    expect(reply.status, reply.body).toBe(202);
    const next = await h.call('GET', `/me/orders?limit=1&nextToken=${encodeURIComponent(issued)}`, {
      token: buyer,
    });
    expect(next.status).toBe(200);
    expect((next.body.orders as unknown[]).length).toBe(1);
    const created = await h.call('POST', '/sales', {
      token: admin,
      body: { ...goodSale(), saleId: 'hostile-ok', name: 'Drop — émoji 👟', holdSeconds: 600 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  });

  it('takes a subject with | (auth0|abc) as a buyer, whose counter and order name that buyer', async () => {
    const sub = 'auth0|abc';
    const token = await h.runtime.issuer.sign(sub);
    const reply = await send(
      'POST',
      `/sales/${saleId}/orders`,
      { ...json, 'Idempotency-Key': 'pipe-subject', Authorization: `Bearer ${token}` },
      okOrder,
    );
    expect(reply.status, reply.body).toBe(202);
    expect(JSON.parse(reply.body)).toMatchObject({ userId: sub, quantity: 1 });
    const mine = await h.call<{ orders: { userId: string }[] }>('GET', '/me/orders', { token });
    expect(mine.body.orders.map((o) => o.userId)).toEqual([sub]);
    // Someone whose id is a prefix of it sees none of it.
    const prefix = await h.call<{ orders: unknown[] }>('GET', '/me/orders', {
      token: await h.runtime.issuer.sign('auth0'),
    });
    expect(prefix.body.orders).toEqual([]);
  });
});

describe('CORS follows CORS_ORIGINS on every answer (issue 18)', () => {
  it('names the configured origin on successes and refusals, and no origin for anyone else', async () => {
    const ok = await send('GET', `/sales/${saleId}`, { Origin: SHOP_ORIGIN });
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(SHOP_ORIGIN);
    const refused = await send('GET', '/me/orders?limit=0x10', {
      Origin: SHOP_ORIGIN,
      Authorization: `Bearer ${buyer}`,
    });
    expect(refused.status).toBe(400);
    expect(refused.headers['access-control-allow-origin']).toBe(SHOP_ORIGIN);
    for (const path of [`/sales/${saleId}`, '/health', '/']) {
      const other = await send('GET', path, { Origin: 'https://evil.example' });
      expect(other.status, path).toBe(200);
      expect(other.headers['access-control-allow-origin'], path).toBeUndefined();
    }
  });
});

describe('in-route verification (AUTH_MODE=verify), the real handlers with no authorizer context', () => {
  const direct = (path: string, orderId: string, authorization?: string): APIGatewayProxyEvent =>
    ({
      resource: '/orders/{orderId}',
      path,
      httpMethod: 'GET',
      headers: authorization ? { Authorization: authorization } : {},
      multiValueHeaders: authorization ? { Authorization: [authorization] } : {},
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      pathParameters: { orderId },
      stageVariables: null,
      body: null,
      isBase64Encoded: false,
      requestContext: { authorizer: null, requestId: 'direct' },
    }) as unknown as APIGatewayProxyEvent;

  it('serves a valid token, and answers 401 to a bad or expired one', async () => {
    const listed = await h.call('GET', '/me/orders', { token: buyer });
    const orderId = (listed.body.orders as { orderId: string }[])[0]?.orderId as string;
    const path = `/orders/${orderId}`;
    const ok = await h.runtime.invokeHttp('getOrder', direct(path, orderId, `Bearer ${buyer}`));
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ orderId, userId: BUYER });

    const short = await h.runtime.issuer.sign(BUYER, false, 1);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    for (const authorization of [undefined, 'Bearer not.a.jwt', `Bearer ${flip(buyer)}`, `Bearer ${short}`]) {
      const denied = await h.runtime.invokeHttp('getOrder', direct(path, orderId, authorization));
      expect(denied.statusCode, String(authorization)).toBe(401);
      expect(JSON.parse(denied.body).error.code).toBe('UNAUTHORIZED');
    }
  });
});
