import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.ts';

let h: Harness;
let saleId: string;
let buyer: string;
let admin: string;

beforeAll(async () => {
  h = await startHarness({ consumers: false });
  ({ saleId } = await h.createSale({ totalStock: 20, perUserLimit: 3, shards: 2 }));
  buyer = await h.token('bad-input-buyer');
  admin = await h.token('admin', true);
});
afterAll(async () => {
  await h?.stop();
});

/** Every item of both tables: a bad request must leave this unchanged. */
async function snapshot(): Promise<string> {
  const tables = h.runtime.resources.tableNames;
  const all = await Promise.all(
    [tables.sales, tables.orders].map(
      async (TableName) =>
        (await h.db.send(new ScanCommand({ TableName, ConsistentRead: true }))).Items ?? [],
    ),
  );
  return JSON.stringify(all.map((items) => items.map((i) => JSON.stringify(i)).sort()));
}

type Case = {
  name: string;
  method?: string;
  path?: () => string;
  headers?: Record<string, string>;
  body?: unknown;
  raw?: string;
  token?: 'none' | 'buyer' | 'admin' | 'garbage';
  status: number;
  code: string;
};

const order = (overrides: Partial<Case>): Case => ({
  name: '',
  method: 'POST',
  path: () => `/sales/${saleId}/orders`,
  headers: { 'idempotency-key': 'bad-1', 'content-type': 'application/json' },
  token: 'buyer',
  status: 400,
  code: 'VALIDATION_ERROR',
  ...overrides,
});
const ok = { quantity: 1, paymentToken: 'tok_ok' };
const sale = (name: string, body: Record<string, unknown>, extra: Partial<Case> = {}): Case => ({
  name,
  method: 'POST',
  path: () => '/sales',
  headers: { 'content-type': 'application/json' },
  token: 'admin',
  status: 400,
  code: 'VALIDATION_ERROR',
  body: {
    name: 'x',
    price: 100,
    currency: 'EUR',
    totalStock: 10,
    perUserLimit: 1,
    startsAt: '2026-01-01T00:00:00Z',
    endsAt: '2030-01-02T00:00:00Z',
    ...body,
  },
  ...extra,
});

const cases: Case[] = [
  order({ name: 'malformed JSON', raw: '{"quantity": 1,', status: 400, code: 'INVALID_JSON' }),
  order({ name: 'JSON null', raw: 'null' }),
  order({ name: 'JSON array', raw: '[1,2]' }),
  order({ name: 'JSON number', raw: '7' }),
  order({ name: 'JSON string', raw: '"buy"' }),
  order({ name: 'empty body', raw: '' }),
  order({ name: 'missing quantity', body: { paymentToken: 'tok_ok' } }),
  order({ name: 'missing paymentToken', body: { quantity: 1 } }),
  order({ name: 'quantity 0', body: { ...ok, quantity: 0 } }),
  order({ name: 'quantity negative', body: { ...ok, quantity: -1 } }),
  order({ name: 'quantity fractional', body: { ...ok, quantity: 1.5 } }),
  order({ name: 'quantity huge', body: { ...ok, quantity: 1e12 } }),
  order({ name: 'quantity as string', body: { ...ok, quantity: '1' } }),
  order({ name: 'quantity over the sale limit', body: { ...ok, quantity: 4 } }),
  order({ name: 'paymentToken wrong type', body: { ...ok, paymentToken: 42 } }),
  order({ name: 'paymentToken with spaces', body: { ...ok, paymentToken: 'tok ok' } }),
  order({ name: 'unknown field', body: { ...ok, coupon: 'FREE' } }),
  order({ name: 'missing Idempotency-Key', headers: { 'content-type': 'application/json' }, body: ok }),
  order({
    name: 'empty Idempotency-Key',
    headers: { 'idempotency-key': '', 'content-type': 'application/json' },
    body: ok,
  }),
  order({
    name: 'Idempotency-Key too long',
    headers: { 'idempotency-key': 'k'.repeat(65), 'content-type': 'application/json' },
    body: ok,
  }),
  order({
    name: 'Idempotency-Key bad characters',
    headers: { 'idempotency-key': 'a b/c', 'content-type': 'application/json' },
    body: ok,
  }),
  order({
    name: 'body over 16 KB',
    body: { ...ok, paymentToken: 'tok_ok', pad: 'x'.repeat(17 * 1024) },
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  }),
  order({
    name: 'wrong content type',
    headers: { 'idempotency-key': 'bad-1', 'content-type': 'text/plain' },
    raw: JSON.stringify(ok),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  }),
  order({
    name: 'unknown sale',
    path: () => '/sales/no-such-sale/orders',
    body: ok,
    status: 404,
    code: 'SALE_NOT_FOUND',
  }),
  order({ name: 'sale id with bad characters', path: () => '/sales/bad%20id/orders', body: ok }),
  order({ name: 'no token', token: 'none', body: ok, status: 401, code: 'UNAUTHORIZED' }),
  order({ name: 'garbage token', token: 'garbage', body: ok, status: 401, code: 'UNAUTHORIZED' }),
  sale('sale: buyer is not admin', {}, { token: 'buyer', status: 403, code: 'FORBIDDEN' }),
  sale('sale: negative price', { price: -1 }),
  sale('sale: fractional price', { price: 9.99 }),
  sale('sale: lowercase currency', { currency: 'eur' }),
  sale('sale: zero stock', { totalStock: 0 }),
  sale('sale: ends before it starts', { endsAt: '2025-12-31T00:00:00Z' }),
  sale('sale: not a date', { startsAt: 'tomorrow' }),
  sale('sale: more shards than units', { shards: 11 }),
  sale('sale: 65 dispensers (shards)', { totalStock: 1000, shards: 65 }),
  sale('sale: unknown field', { discount: 5 }),
  sale('sale: missing name', { name: undefined }),
  {
    name: 'unknown order',
    method: 'GET',
    path: () => '/orders/nope',
    token: 'buyer',
    status: 404,
    code: 'ORDER_NOT_FOUND',
  },
  {
    name: 'unknown sale read',
    method: 'GET',
    path: () => '/sales/nope',
    status: 404,
    code: 'SALE_NOT_FOUND',
  },
  {
    name: 'bad page size',
    method: 'GET',
    path: () => '/me/orders?limit=0',
    token: 'buyer',
    status: 400,
    code: 'VALIDATION_ERROR',
  },
  {
    name: 'forged nextToken',
    method: 'GET',
    path: () => '/me/orders?nextToken=abc',
    token: 'buyer',
    status: 400,
    code: 'VALIDATION_ERROR',
  },
  { name: 'unknown route', method: 'GET', path: () => '/nothing-here', status: 404, code: 'NOT_FOUND' },
];

describe('bad input gets a contract-shaped 4xx and changes nothing', () => {
  it(`covers ${cases.length} cases`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)('$name → $status $code', async (c) => {
    const before = await snapshot();
    const token =
      c.token === 'buyer'
        ? buyer
        : c.token === 'admin'
          ? admin
          : c.token === 'garbage'
            ? 'not.a.jwt'
            : undefined;
    const reply = await h.call(c.method ?? 'GET', c.path?.() ?? '/', {
      token,
      headers: c.headers,
      ...(c.raw !== undefined
        ? { rawBody: c.raw }
        : c.body !== undefined
          ? { rawBody: JSON.stringify(c.body) }
          : {}),
    });
    expect(reply.status).toBe(c.status);
    expect(reply.headers.get('content-type')).toMatch(/application\/json/);
    expect(reply.body).toMatchObject({ error: { code: c.code, message: expect.any(String) } });
    expect(await snapshot()).toBe(before);
  });
});

describe('who may read what', () => {
  it('lets a buyer read their own order, hides it from others, shows it to an admin', async () => {
    const placed = await h.buy('owner', saleId, { key: 'mine' });
    expect(placed.status).toBe(202);
    const path = `/orders/${placed.body.orderId}`;
    const own = await h.call('GET', path, { token: await h.token('owner') });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({
      orderId: placed.body.orderId,
      userId: 'owner',
      status: 'RESERVED',
      quantity: 1,
      amount: 1500,
    });
    expect(own.body).not.toHaveProperty('bodyHash');
    const other = await h.call('GET', path, { token: await h.token('someone-else') });
    expect(other.status).toBe(404);
    expect(other.body.error).toMatchObject({ code: 'ORDER_NOT_FOUND' });
    expect((await h.call('GET', path, { token: admin })).status).toBe(200);
    expect((await h.call('GET', path)).status).toBe(401);
    const cancelByOther = await h.call('DELETE', path, { token: await h.token('someone-else') });
    expect(cancelByOther.status).toBe(404);
  });

  it('pages through a buyer’s own orders', async () => {
    const { saleId: many } = await h.createSale({ totalStock: 10, perUserLimit: 5 });
    for (let i = 0; i < 5; i++) expect((await h.buy('pager', many, { key: `p${i}` })).status).toBe(202);
    const token = await h.token('pager');
    const first = await h.call<{ orders: { orderId: string; userId: string }[]; nextToken?: string }>(
      'GET',
      '/me/orders?limit=3',
      { token },
    );
    expect(first.status).toBe(200);
    expect(first.body.orders).toHaveLength(3);
    expect(first.body.nextToken).toEqual(expect.any(String));
    const second = await h.call<{ orders: { orderId: string }[]; nextToken?: string }>(
      'GET',
      `/me/orders?limit=3&nextToken=${encodeURIComponent(first.body.nextToken as string)}`,
      { token },
    );
    expect(second.body.orders).toHaveLength(2);
    const ids = new Set([...first.body.orders, ...second.body.orders].map((o) => o.orderId));
    expect(ids.size).toBe(5);
    expect(first.body.orders.every((o) => o.userId === 'pager')).toBe(true);
    const stolen = await h.call(
      'GET',
      `/me/orders?nextToken=${encodeURIComponent(first.body.nextToken as string)}`,
      { token: buyer },
    );
    expect(stolen.status).toBe(400);
  });

  it('rejects a duplicate sale id with SALE_EXISTS and answers health publicly', async () => {
    const again = await h.call('POST', '/sales', {
      token: admin,
      body: {
        saleId,
        name: 'dup',
        price: 1,
        currency: 'EUR',
        totalStock: 1,
        perUserLimit: 1,
        startsAt: '2026-01-01T00:00:00Z',
        endsAt: '2027-01-01T00:00:00Z',
      },
    });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'SALE_EXISTS' });
    expect((await h.call('GET', '/health')).body).toEqual({ status: 'ok' });
  });

  it('derives the shard count from the stock when none is given', async () => {
    const created = await h.createSale({ totalStock: 1000 });
    const report = await h.audit(created.saleId);
    expect(report.dispensers.length).toBeGreaterThan(1);
    expect(report.stock.available).toBe(1000);
  });
});
