/**
 * The OpenAPI document checked by a tool nobody here wrote: Stoplight Prism, as a validating proxy
 * in front of the local runtime, sees a drill through the typed client (buy, replay, sold out,
 * limit, bad inputs, 429 RETRY, waiting room, cancel, paging). Every answer must match the
 * document, every well-formed request too, and every deliberately bad request must be one the
 * document already forbids. A copy of the document with a field and an error code removed must
 * make Prism report both.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, errorCode, typedApi } from '../../load/lib/api-client.ts';
import { OPENAPI_FILES } from '../../local/openapi-files.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { type Exchange, type Prism, startPrism } from '../support/prism.ts';

let h: Harness;
let prism: Prism;
const dir = mkdtempSync(join(tmpdir(), 'flash-openapi-'));

beforeAll(async () => {
  // Only /health is throttled (1 at once), so the drill can see a gateway 429 RETRY on demand.
  h = await startHarness({ throttle: { methods: { health: { rateLimit: 1, burstLimit: 1 } } } });
  prism = await startPrism(OPENAPI_FILES.document, h.runtime.url);
}, 120_000);

afterAll(async () => {
  await prism?.stop();
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const soon = (ms: number) => new Date(Date.now() + ms).toISOString();

describe('Prism in front of the local runtime', () => {
  it('finds no violation in a drill through the typed client; bad inputs are ones the document forbids', async () => {
    const api = typedApi(prism.url, { retries429: 0, fetch: prism.fetch });
    const raw = apiClient(prism.url, { retries429: 0, fetch: prism.fetch });
    const bad = new Set<number>();
    /** A deliberately bad request: Prism must see it as outside the contract. */
    const refused = async <T>(call: () => Promise<T>): Promise<T> => {
      const result = await call();
      bad.add(prism.exchanges.length - 1);
      return result;
    };
    const admin = bearer(await h.token('ops', true));
    const alice = bearer(await h.token('alice'));
    const bob = bearer(await h.token('bob'));
    const carol = bearer(await h.token('carol'));

    expect((await api.GET('/health')).data).toEqual({ status: 'ok' });
    expect((await api.GET('/openapi.json')).data?.openapi).toBe('3.1.0');
    expect((await api.GET('/docs', { parseAs: 'text' })).data).toContain('docs/scalar.js');
    expect((await api.GET('/docs/scalar.js', { parseAs: 'text' })).response.status).toBe(200);

    // Open a sale: 2 units, 1 per buyer.
    const saleId = `prism-${Date.now().toString(36)}`;
    const created = await api.POST('/sales', {
      headers: admin,
      body: {
        saleId,
        name: 'Prism drop',
        price: 2500,
        currency: 'EUR',
        totalStock: 2,
        perUserLimit: 1,
        startsAt: soon(-60_000),
        endsAt: soon(3_600_000),
      },
    });
    expect(created.response.status).toBe(201);
    expect(created.data?.available).toBe(2);
    const again = await api.POST('/sales', {
      headers: admin,
      body: {
        saleId,
        name: 'Prism drop',
        price: 2500,
        currency: 'EUR',
        totalStock: 2,
        perUserLimit: 1,
        startsAt: soon(-60_000),
        endsAt: soon(3_600_000),
      },
    });
    expect(again.error?.error.code).toBe('SALE_EXISTS');
    expect((await api.GET('/sales/{saleId}', { params: { path: { saleId } } })).data?.status).toBe('ACTIVE');
    expect(
      (await api.GET('/sales/{saleId}', { params: { path: { saleId: 'no-such-sale' } } })).error?.error.code,
    ).toBe('SALE_NOT_FOUND');

    // Buy, replay, limit, key reuse, sold out.
    const buy = (who: Record<string, string>, key: string, sale = saleId, paymentToken = 'tok_ok') =>
      api.POST('/sales/{saleId}/orders', {
        params: { path: { saleId: sale }, header: { 'Idempotency-Key': key } },
        headers: who,
        body: { quantity: 1, paymentToken },
      });
    const first = await buy(alice, 'alice-1');
    expect(first.response.status).toBe(202);
    expect(first.response.headers.get('location')).toBe(`/orders/${first.data?.orderId}`);
    const replay = await buy(alice, 'alice-1');
    expect(replay.response.status).toBe(200);
    expect(replay.data?.orderId).toBe(first.data?.orderId);
    expect((await buy(alice, 'alice-1', saleId, 'tok_decline')).error?.error.code).toBe(
      'IDEMPOTENCY_KEY_REUSED',
    );
    expect((await buy(alice, 'alice-2')).error?.error.code).toBe('PURCHASE_LIMIT_EXCEEDED');
    expect((await buy(bob, 'bob-1')).response.status).toBe(202);
    expect((await buy(carol, 'carol-1')).error?.error.code).toBe('SOLD_OUT');

    // A sale that has not started.
    const later = `${saleId}-later`;
    await api.POST('/sales', {
      headers: admin,
      body: {
        saleId: later,
        name: 'Later drop',
        price: 100,
        currency: 'EUR',
        totalStock: 5,
        perUserLimit: 1,
        startsAt: soon(3_600_000),
        endsAt: soon(7_200_000),
      },
    });
    expect((await buy(carol, 'carol-later', later)).error?.error.code).toBe('SALE_NOT_ACTIVE');

    // Orders: read, someone else's, cancel, cancel again.
    const orderId = first.data?.orderId ?? '';
    expect(
      (await api.GET('/orders/{orderId}', { params: { path: { orderId } }, headers: alice })).data?.status,
    ).toBe('RESERVED');
    expect(
      (await api.GET('/orders/{orderId}', { params: { path: { orderId } }, headers: bob })).error?.error.code,
    ).toBe('ORDER_NOT_FOUND');
    const cancelled = await api.DELETE('/orders/{orderId}', {
      params: { path: { orderId } },
      headers: alice,
    });
    expect(cancelled.data?.status).toBe('CANCELLED');
    // Cancelling again answers the cancelled order again.
    const twice = await api.DELETE('/orders/{orderId}', { params: { path: { orderId } }, headers: alice });
    expect(twice.data?.status).toBe('CANCELLED');

    // Paging: three orders for dave, two pages of at most 2.
    const dave = bearer(await h.token('dave'));
    const roomy = `${saleId}-roomy`;
    await api.POST('/sales', {
      headers: admin,
      body: {
        saleId: roomy,
        name: 'Roomy drop',
        price: 100,
        currency: 'EUR',
        totalStock: 10,
        perUserLimit: 5,
        startsAt: soon(-60_000),
        endsAt: soon(3_600_000),
      },
    });
    for (const key of ['d1', 'd2', 'd3']) expect((await buy(dave, key, roomy)).response.status).toBe(202);
    const page1 = await api.GET('/me/orders', { params: { query: { limit: '2' } }, headers: dave });
    expect(page1.data?.orders).toHaveLength(2);
    const page2 = await api.GET('/me/orders', {
      params: { query: { limit: '2', nextToken: page1.data?.nextToken } },
      headers: dave,
    });
    expect(page2.data?.orders).toHaveLength(1);
    expect(page2.data?.nextToken).toBeUndefined();
    const forged = await api.GET('/me/orders', { params: { query: { nextToken: 'forged' } }, headers: dave });
    expect(forged.error?.error.code).toBe('VALIDATION_ERROR');

    // Waiting room: refused without admission, join, admitted, buy with the token; operators only.
    const roomSale = `${saleId}-room`;
    await api.POST('/sales', {
      headers: admin,
      body: {
        saleId: roomSale,
        name: 'Room drop',
        price: 100,
        currency: 'EUR',
        totalStock: 5,
        perUserLimit: 1,
        startsAt: soon(-60_000),
        endsAt: soon(3_600_000),
        waitingRoom: { admitPerSecond: 1000 },
      },
    });
    expect((await buy(carol, 'carol-room', roomSale)).error?.error.code).toBe('ADMISSION_REQUIRED');
    const joined = await api.POST('/sales/{saleId}/queue', {
      params: { path: { saleId: roomSale } },
      headers: carol,
    });
    expect(joined.response.status).toBe(201);
    expect(joined.response.headers.get('location')).toBe(`/sales/${roomSale}/queue/me`);
    const ticket = joined.data?.ticket ?? '';
    expect(ticket.split('.')).toHaveLength(3);
    // The room's public document: cacheable by anyone; a sale without a room has none.
    const room = await api.GET('/sales/{saleId}/room', { params: { path: { saleId: roomSale } } });
    expect(room.data?.room.admitPerSecond).toBe(1000);
    expect(room.response.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    expect((await api.GET('/sales/{saleId}/room', { params: { path: { saleId } } })).error?.error.code).toBe(
      'NOT_FOUND',
    );
    expect(
      (await api.GET('/sales/{saleId}/room', { params: { path: { saleId: 'no-such-sale' } } })).error?.error
        .code,
    ).toBe('SALE_NOT_FOUND');
    expect(
      (await api.POST('/sales/{saleId}/queue', { params: { path: { saleId: roomSale } }, headers: carol }))
        .response.status,
    ).toBe(200);
    const token = await h.waitFor(async () => {
      const { data } = await api.GET('/sales/{saleId}/queue/me', {
        params: { path: { saleId: roomSale }, header: { 'Queue-Ticket': ticket } },
        headers: carol,
      });
      return data?.state === 'ADMITTED' ? data.admissionToken : undefined;
    }, 'admission');
    const admitted = await api.POST('/sales/{saleId}/orders', {
      params: {
        path: { saleId: roomSale },
        header: { 'Idempotency-Key': 'carol-room', 'Admission-Token': token },
      },
      headers: carol,
      body: { quantity: 1, paymentToken: 'tok_ok' },
    });
    expect(admitted.response.status).toBe(202);
    expect(
      (await api.GET('/sales/{saleId}/queue/me', { params: { path: { saleId } }, headers: carol })).error
        ?.error.code,
    ).toBe('NOT_FOUND');
    const paused = await api.PATCH('/sales/{saleId}', {
      params: { path: { saleId: roomSale } },
      headers: admin,
      body: { waitingRoom: { paused: true } },
    });
    expect(paused.data?.waitingRoom.paused).toBe(true);
    const notAdmin = await api.PATCH('/sales/{saleId}', {
      params: { path: { saleId: roomSale } },
      headers: carol,
      body: { waitingRoom: { paused: false } },
    });
    expect(notAdmin.error?.error.code).toBe('FORBIDDEN');

    // Gateway throttle: /health admits 1 at once, so of 4 at once some are 429 RETRY + Retry-After.
    const burst = await Promise.all(Array.from({ length: 4 }, () => api.GET('/health')));
    const throttled = burst.filter((r) => r.response.status === 429);
    expect(throttled.length).toBeGreaterThan(0);
    expect(throttled[0]?.error?.error.code).toBe('RETRY');
    expect(Number(throttled[0]?.response.headers.get('retry-after'))).toBeGreaterThan(0);

    // Bad inputs: each refused with a 4xx in the contract's shape, and each outside the document.
    // (Malformed JSON is not among them: Prism's own server answers it without forwarding.)
    const orders = `/sales/${roomy}/orders`;
    const probes: [string, Parameters<typeof raw>[2], number, string][] = [
      [
        'quantity 0',
        {
          ...tokenOf(dave),
          headers: { 'idempotency-key': 'p1' },
          body: { quantity: 0, paymentToken: 'tok_ok' },
        },
        400,
        'VALIDATION_ERROR',
      ],
      [
        'unknown field',
        {
          ...tokenOf(dave),
          headers: { 'idempotency-key': 'p2' },
          body: { quantity: 1, paymentToken: 'tok_ok', coupon: 'x' },
        },
        400,
        'VALIDATION_ERROR',
      ],
      [
        'no Idempotency-Key',
        { ...tokenOf(dave), body: { quantity: 1, paymentToken: 'tok_ok' } },
        400,
        'VALIDATION_ERROR',
      ],
      [
        'malformed key',
        {
          ...tokenOf(dave),
          headers: { 'idempotency-key': 'bad key!' },
          body: { quantity: 1, paymentToken: 'tok_ok' },
        },
        400,
        'VALIDATION_ERROR',
      ],
      [
        'text/plain',
        {
          ...tokenOf(dave),
          headers: { 'idempotency-key': 'p4', 'content-type': 'text/plain' },
          rawBody: '{"quantity":1,"paymentToken":"tok_ok"}',
        },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'over 16 KB',
        {
          ...tokenOf(dave),
          headers: { 'idempotency-key': 'p5' },
          body: { quantity: 1, paymentToken: 'x'.repeat(17_000) },
        },
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      [
        'no token',
        { headers: { 'idempotency-key': 'p6' }, body: { quantity: 1, paymentToken: 'tok_ok' } },
        401,
        'UNAUTHORIZED',
      ],
    ];
    for (const [what, call, status, code] of probes) {
      const reply = await refused(() => raw('POST', orders, call));
      expect(reply.status, what).toBe(status);
      expect(errorCode(reply.body), what).toBe(code);
    }
    const badLimit = await refused(() => raw('GET', '/me/orders?limit=0', tokenOf(dave)));
    expect(errorCode(badLimit.body)).toBe('VALIDATION_ERROR');
    const hexLimit = await refused(() => raw('GET', '/me/orders?limit=0x10', tokenOf(dave)));
    expect(errorCode(hexLimit.body)).toBe('VALIDATION_ERROR');
    const badSale = await refused(() => raw('POST', '/sales', { ...tokenOf(admin), body: { name: 'x' } }));
    expect(errorCode(badSale.body)).toBe('VALIDATION_ERROR');

    const list = (xs: Exchange[], which: 'request' | 'response') =>
      xs.flatMap((x) => x[which].map((v) => `${x.call} → ${x.status}: ${v.location.join('.')} ${v.message}`));
    const good = prism.exchanges.filter((_, i) => !bad.has(i));
    const badOnes = prism.exchanges.filter((_, i) => bad.has(i));
    expect(list(prism.exchanges, 'response'), 'answers outside the document').toEqual([]);
    expect(list(good, 'request'), 'well-formed requests Prism refused').toEqual([]);
    expect(
      badOnes.filter((x) => x.request.length === 0).map((x) => x.call),
      'bad requests the document allows',
    ).toEqual([]);
    console.log(
      `Prism: ${prism.exchanges.length} exchanges (${bad.size} deliberately bad requests), ${list(prism.exchanges, 'response').length} answer violations`,
    );
    expect(prism.exchanges.length).toBeGreaterThan(40);
  }, 120_000);

  it('reports an undocumented field and an undocumented error code (a broken copy of the document)', async () => {
    const document = JSON.parse(readFileSync(OPENAPI_FILES.document, 'utf8'));
    const orderSchema = document.components.schemas.Order;
    delete orderSchema.properties.expiresAt;
    orderSchema.required = orderSchema.required.filter((name: string) => name !== 'expiresAt');
    const refusal =
      document.paths['/sales/{saleId}/orders'].post.responses['409'].content['application/json'];
    const codes = refusal.schema.properties.error.properties.code;
    codes.enum = codes.enum.filter((code: string) => code !== 'SOLD_OUT');
    delete refusal.examples.SOLD_OUT;
    const broken = join(dir, 'broken-openapi.json');
    writeFileSync(broken, JSON.stringify(document));
    const strict = await startPrism(broken, h.runtime.url);
    try {
      const api = typedApi(strict.url, { retries429: 0, fetch: strict.fetch });
      const sale = await h.createSale({ totalStock: 1, perUserLimit: 1 });
      for (const [who, key] of [
        ['erin', 'e1'],
        ['frank', 'f1'],
      ]) {
        await api.POST('/sales/{saleId}/orders', {
          params: { path: { saleId: sale.saleId }, header: { 'Idempotency-Key': key as string } },
          headers: bearer(await h.token(who as string)),
          body: { quantity: 1, paymentToken: 'tok_ok' },
        });
      }
      const [sold, soldOut] = strict.exchanges;
      expect(sold?.status).toBe(202);
      expect(sold?.response.map((v) => v.message).join(' ')).toMatch(/expiresAt|additional/i);
      expect(soldOut?.status).toBe(409);
      expect(soldOut?.response.length).toBeGreaterThan(0);
    } finally {
      await strict.stop();
    }
  }, 120_000);
});

function tokenOf(headers: Record<string, string>): { token: string } {
  return { token: (headers.authorization ?? '').replace(/^Bearer /, '') };
}
