import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiUnreachable, apiClient, typedApi } from '../../load/lib/api-client.ts';
import { checkout } from '../../load/lib/burst.ts';
import { ownConnections } from '../../load/lib/connections.ts';

/** A stand-in for the API: answers checkouts by key, counts connections, can stay silent. */
let server: Server;
let url: string;
let connections = 0;
const seen: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string }[] = [];

function answer(req: IncomingMessage, res: ServerResponse, body: string): void {
  seen.push({ method: req.method, url: req.url, headers: req.headers, body });
  const key = String(req.headers['idempotency-key'] ?? '');
  if (key === 'silent') return; // never answers: the client's timeout must end the call
  if (key === 'busy') {
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' });
    res.end(JSON.stringify({ error: { code: 'RETRY', message: 'Try again' } }));
  } else if (key === 'sold') {
    res.writeHead(409, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'SOLD_OUT', message: 'Sold out' } }));
  } else if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
  } else {
    res.writeHead(202, { 'content-type': 'application/json', location: '/orders/o-1' });
    res.end(JSON.stringify({ orderId: `o-${key}`, status: 'RESERVED' }));
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => answer(req, res, body));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('the API client over a connection of its own (the burst buyer)', () => {
  it('sends the contract request, reads every kind of answer, and keeps one connection across calls', async () => {
    const before = connections;
    const transport = ownConnections(1);
    const api = typedApi(url, { fetch: transport.fetch, retries429: 0 });
    try {
      expect(await checkout(api, 'spring', 'tok-a', 'k1')).toEqual({ status: 202, orderId: 'o-k1' });
      expect(connections - before).toBe(1); // opened by the first request, not before
      expect(await checkout(api, 'spring', 'tok-a', 'busy')).toEqual({
        status: 429,
        code: 'RETRY',
        retryAfter: '2',
      });
      expect(await checkout(api, 'spring', 'tok-a', 'sold')).toEqual({ status: 409, code: 'SOLD_OUT' });
      expect(connections - before).toBe(1);
      const sent = seen.at(-3);
      expect(sent?.method).toBe('POST');
      expect(sent?.url).toBe('/sales/spring/orders');
      expect(sent?.headers.authorization).toBe('Bearer tok-a');
      expect(sent?.headers['content-type']).toBe('application/json');
      expect(JSON.parse(sent?.body ?? '')).toEqual({ quantity: 1, paymentToken: 'tok_ok' });
    } finally {
      await transport.close();
    }
  });

  it('gives a separate transport its own connection', async () => {
    const before = connections;
    const a = ownConnections(1);
    const b = ownConnections(1);
    try {
      await typedApi(url, { fetch: a.fetch }).GET('/health');
      await typedApi(url, { fetch: b.fetch }).GET('/health');
      await typedApi(url, { fetch: a.fetch }).GET('/health');
      expect(connections - before).toBe(2);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('turns no answer into a transport code: ETIMEDOUT for its timeout, the socket error otherwise', async () => {
    const transport = ownConnections(1);
    const api = typedApi(url, { fetch: transport.fetch, retries429: 0, timeoutMs: 200 });
    try {
      expect(await checkout(api, 'spring', 'tok-a', 'silent')).toEqual({ status: 0, code: 'ETIMEDOUT' });
    } finally {
      await transport.close();
    }
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = ownConnections(1);
    try {
      const api2 = typedApi(`http://127.0.0.1:${port}`, { fetch: refused.fetch, retries429: 0 });
      expect(await checkout(api2, 'spring', 'tok-a', 'k2')).toEqual({ status: 0, code: 'ECONNREFUSED' });
      const raw = apiClient(`http://127.0.0.1:${port}`, { fetch: refused.fetch });
      await expect(raw('GET', '/health')).rejects.toBeInstanceOf(ApiUnreachable);
    } finally {
      await refused.close();
    }
  });
});
