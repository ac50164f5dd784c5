import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../load/lib/burst.ts';
import { gatewayRefusals } from '../../shared/http/gateway-refusals.ts';
import { type Harness, startHarness } from '../support/harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    consumers: true,
    reconcileIntervalSeconds: 0,
    // Deliberately small, to see the runtime refuse what the cloud would refuse.
    concurrency: { placeOrder: 4 },
    throttle: { methods: { getSale: { rateLimit: 1, burstLimit: 3 } } },
  });
});
afterAll(async () => {
  await h?.stop();
});

/** A request with any Host header (fetch will not send a foreign one). */
function raw(method: string, path: string, headers: Record<string, string>, body = '') {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((done, fail) => {
    const url = new URL(path, h.runtime.url);
    const req = request(
      url,
      { method, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }),
        );
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

describe('the local gateway', () => {
  it('answers a known path with another method 405 METHOD_NOT_ALLOWED and an Allow header', async () => {
    const sale = await h.createSale();
    const res = await h.call('PUT', `/sales/${sale.saleId}`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, PATCH');
    expect(res.body).toMatchObject({ error: { code: 'METHOD_NOT_ALLOWED' } });
    const orders = await h.call('GET', `/sales/${sale.saleId}/orders`);
    expect(orders.status).toBe(405);
    expect(orders.headers.get('allow')).toBe('POST');
    expect((await h.call('GET', '/nowhere')).status).toBe(404);
  });

  it('answers malformed percent-encoding in a path 400 VALIDATION_ERROR, not 500', async () => {
    for (const path of ['/sales/%E0%A4%A', '/orders/%', '/sales/abc%ZZ/orders']) {
      const res = await raw(path.endsWith('orders') ? 'POST' : 'GET', path, {
        authorization: `Bearer ${await h.token('pct')}`,
      });
      expect(res.status, path).toBe(400);
      expect(JSON.parse(res.body), path).toMatchObject({ error: { code: 'VALIDATION_ERROR' } });
    }
  });

  it('throttles like API Gateway: beyond the burst, 429 RETRY + Retry-After in the contract shape', async () => {
    const sale = await h.createSale();
    await new Promise((r) => setTimeout(r, 3_100)); // a full bucket
    const replies = await Promise.all(
      Array.from({ length: 6 }, () => h.call('GET', `/sales/${sale.saleId}`)),
    );
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200).length).toBe(3);
    expect(statuses.filter((s) => s === 429).length).toBe(3);
    const refused = replies.find((r) => r.status === 429);
    expect(refused?.headers.get('retry-after')).toBe(String(gatewayRefusals.throttled.retryAfterSeconds));
    expect(refused?.body).toEqual({ error: { code: 'RETRY', message: gatewayRefusals.throttled.message } });
  });
});

describe('the authorizer cache', () => {
  it('refuses an expired token although the same token was allowed before', async () => {
    const token = await h.runtime.issuer.sign('short-lived', false, 2);
    const first = await h.call('GET', '/me/orders', { token });
    expect(first.status).toBe(200);
    const exp = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).exp as number;
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 1_100));
    const again = await h.call('GET', '/me/orders', { token });
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });
});

describe('dev routes', () => {
  it('serve the JWKS and mint tokens for loopback Host names and JSON bodies only', async () => {
    const mint = JSON.stringify({ userId: 'dev-user', admin: true });
    for (const host of ['127.0.0.1', `localhost:${h.runtime.port}`, `[::1]:${h.runtime.port}`]) {
      expect((await raw('GET', '/.well-known/jwks.json', { host })).status, host).toBe(200);
      const minted = await raw(
        'POST',
        '/dev/tokens',
        { host, 'content-type': 'Application/JSON; charset=UTF-8' },
        mint,
      );
      expect(minted.status, host).toBe(200);
      expect(JSON.parse(minted.body).token).toMatch(/^ey/);
    }
    // DNS rebinding: a page on evil.example whose name now points at 127.0.0.1.
    for (const host of [
      'evil.example',
      `evil.example:${h.runtime.port}`,
      'localhost.evil.example',
      '[::1]evil.example',
      `127.0.0.1:${h.runtime.port}.evil.example`,
    ]) {
      expect((await raw('GET', '/.well-known/jwks.json', { host })).status, host).toBe(404);
      const minted = await raw('POST', '/dev/tokens', { host, 'content-type': 'application/json' }, mint);
      expect(minted.status, host).toBe(404);
      expect(minted.body).not.toContain('token"');
    }
    // A cross-site form can send text/plain without a preflight: refused.
    const form = await raw('POST', '/dev/tokens', { host: '127.0.0.1', 'content-type': 'text/plain' }, mint);
    expect(form.status).toBe(415);
    expect(JSON.parse(form.body)).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    expect((await raw('POST', '/dev/tokens', { host: '127.0.0.1' }, mint)).status).toBe(415);
  });

  it('answers a request it cannot parse (a control character in a header) 400 in the contract shape', async () => {
    const reply = await new Promise<string>((done, fail) => {
      const socket = connect(h.runtime.port, '127.0.0.1');
      let data = '';
      socket.on('connect', () =>
        socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Bad: a\u0001b\r\n\r\n'),
      );
      socket.on('data', (chunk) => {
        data += chunk.toString();
      });
      socket.on('close', () => done(data));
      socket.on('error', fail);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply).toMatch(/content-type: application\/json/i);
    expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).toMatchObject({
      error: { code: 'VALIDATION_ERROR' },
    });
  });
});

describe('a burst far over a small concurrency limit (placeOrder: 4)', () => {
  it('answers every buyer without a 5xx; each retrying buyer ends with an order or SOLD_OUT; stock sells exactly', async () => {
    const stock = 60;
    const buyers = 300;
    const sale = await h.createSale({ totalStock: stock, perUserLimit: 1, shards: 4 });
    const tokens = await Promise.all(Array.from({ length: buyers }, (_, i) => h.token(`burst-${i}`)));
    const statuses: number[] = [];
    const finals: { status: number; code?: string; orderId?: string }[] = [];
    await Promise.all(
      tokens.map(async (token, i) => {
        // Retrying as told: same key, after Retry-After; the bound only keeps a broken run finite.
        for (let tries = 1; tries <= 30; tries++) {
          const res = await h.call<{ orderId?: string; error?: { code: string } }>(
            'POST',
            `/sales/${sale.saleId}/orders`,
            {
              token,
              headers: { 'idempotency-key': `burst-key-${i}` },
              body: { quantity: 1, paymentToken: 'tok_ok' },
            },
          );
          statuses.push(res.status);
          if (res.status !== 429) {
            finals.push({ status: res.status, code: res.body.error?.code, orderId: res.body.orderId });
            return;
          }
          expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
          await new Promise((r) => setTimeout(r, retryDelayMs(res.headers.get('retry-after') ?? undefined)));
        }
        finals.push({ status: 429 });
      }),
    );
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0); // the limit really refused work
    expect(finals).toHaveLength(buyers);
    const accepted = finals.filter((f) => f.status === 202 || f.status === 200);
    const soldOut = finals.filter((f) => f.status === 409 && f.code === 'SOLD_OUT');
    expect(accepted.length + soldOut.length).toBe(buyers);
    expect(accepted.length).toBe(stock);
    expect(new Set(accepted.map((f) => f.orderId)).size).toBe(stock);

    const report = await h.waitFor(
      async () => {
        const r = await h.audit(sale.saleId, {
          acceptedOrderIds: accepted.map((f) => f.orderId as string),
          expectSettled: true,
          expectSoldOut: true,
        });
        return r.ok ? r : undefined;
      },
      'every order settled with a clean audit',
      60_000,
    );
    expect(report.stock.sold).toBe(stock);
    expect(report.stock.available).toBe(0);
  });
});
