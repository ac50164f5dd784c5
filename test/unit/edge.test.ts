import type { APIGatewayProxyResult } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { AWS_UNRESERVED_MINIMUM, concurrencyPlan, DEFAULT_SHARE } from '../../infra/concurrency-plan.ts';
import { cacheSeconds, EdgeCache, type EdgeRequest } from '../../local/runtime/edge-cache.ts';
import { drawOfTicket, readTicket, signTicket } from '../../shared/usecases/room-tickets.ts';

const answer = (cacheControl?: string): APIGatewayProxyResult => ({
  statusCode: 200,
  headers: cacheControl ? { 'Cache-Control': cacheControl } : {},
  body: '{}',
});
const request = (url: string, authorization?: string, method = 'GET') =>
  ({ method, url, headers: authorization ? { authorization } : {} }) satisfies EdgeRequest;

describe('the local edge cache (CloudFront played locally)', () => {
  it("reads the origin's Cache-Control as CloudFront does", () => {
    expect(cacheSeconds(answer('public, max-age=2'))).toBe(2);
    expect(cacheSeconds(answer('max-age=5, s-maxage=1'))).toBe(1);
    for (const never of [undefined, 'private, max-age=5', 'no-store', 'no-cache, max-age=3', 'public'])
      expect(cacheSeconds(answer(never)), String(never)).toBe(0);
  });

  it('answers repeats until max-age without calling the origin, collapses concurrent misses, keys by Authorization', async () => {
    let now = 0;
    const edge = new EdgeCache(() => now);
    let calls = 0;
    const origin = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      return { outcome: 'done' as const, value: answer('public, max-age=1') };
    };
    const first = await Promise.all(
      Array.from({ length: 10 }, () => edge.through(request('/sales/a/room'), origin)),
    );
    expect(calls).toBe(1);
    expect(first.every((r) => r.outcome === 'done')).toBe(true);
    expect(edge.lookup(request('/sales/a/room'))?.headers?.['X-Cache']).toBe('Hit from edge');
    // Another bearer, another method or another path is another entry.
    expect(edge.lookup(request('/sales/a/room', 'Bearer x'))).toBeUndefined();
    expect(edge.lookup(request('/sales/a/room', undefined, 'POST'))).toBeUndefined();
    expect(edge.lookup(request('/sales/b/room'))).toBeUndefined();
    // Another Origin is another entry: its Access-Control-Allow-Origin may differ (-c corsOrigins).
    const fromShop = { ...request('/sales/a/room'), headers: { origin: 'https://shop.example' } };
    expect(edge.lookup(fromShop)).toBeUndefined();
    now += 1_000;
    expect(edge.lookup(request('/sales/a/room'))).toBeUndefined();
  });

  it('keeps nothing private', async () => {
    const edge = new EdgeCache(() => 0);
    await edge.through(request('/sales/a/queue/me', 'Bearer t'), async () => ({
      outcome: 'done',
      value: answer('private, max-age=5'),
    }));
    expect(edge.lookup(request('/sales/a/queue/me', 'Bearer t'))).toBeUndefined();
  });
});

describe('the concurrency plan', () => {
  const wanted = { placeOrder: 700, authorizer: 200 };
  const plan = (accountConcurrency: number | undefined, share: number = DEFAULT_SHARE.prod) =>
    concurrencyPlan({ accountConcurrency, share, wanted, checkout: 'placeOrder' });
  const sum = (p: ReturnType<typeof plan>) => Object.values(p.reserved).reduce((a, b) => a + (b ?? 0), 0);

  it('reserves nothing in a small account, and assumes one without the flag', () => {
    expect(plan(10).reserved).toEqual({});
    expect(plan(100).reserved).toEqual({});
    expect(plan(undefined)).toMatchObject({ measured: false, reserved: {} });
    expect(plan(undefined).warnings.join(' ')).toMatch(/checkouts\/s/);
  });

  it('scales proportionally where the wishes do not fit, always leaving 100 + headroom', () => {
    const p = plan(1_000);
    expect(sum(p)).toBeLessThanOrEqual(800);
    expect(p.reserved.placeOrder).toBe(Math.floor(700 * (p.pool / 900)));
    expect(p.reserved.authorizer).toBe(Math.floor(200 * (p.pool / 900)));
    expect(p.warnings[0]).toMatch(/placeOrder \d+ of 700/);
    expect(plan(10_000).reserved).toEqual(wanted);
    expect(plan(10_000).warnings).toEqual([]);
  });

  it('lets two stages deploy in one account: prod and dev together leave 100 unreserved and more', () => {
    for (const account of [200, 500, 1_000, 3_000, 10_000, 100_000]) {
      const both = sum(plan(account, DEFAULT_SHARE.prod)) + sum(plan(account, DEFAULT_SHARE.other));
      expect(both, `account ${account}`).toBeLessThanOrEqual(account - AWS_UNRESERVED_MINIMUM - 100);
    }
  });
});

describe('signed tickets', () => {
  const key = 'k'.repeat(40);
  const ticket = {
    saleId: 's1',
    userId: 'ann',
    joinedAt: 1_700_000_000_000,
    draw: { kind: 'counter' as const, n: 7, shard: 3 },
  };
  const endsAt = '2100-01-01T00:00:00Z';

  it('carry the draw the buyer reads, and prove it only for that buyer and sale', async () => {
    const signed = await signTicket(key, ticket, endsAt);
    expect(drawOfTicket(signed)).toEqual(ticket.draw);
    const now = ticket.joinedAt + 1_000;
    expect(await readTicket(key, signed, { saleId: 's1', userId: 'ann', now })).toEqual(ticket);
    expect(await readTicket(key, signed, { saleId: 's1', userId: 'bob', now })).toBeUndefined();
    expect(await readTicket(key, signed, { saleId: 's2', userId: 'ann', now })).toBeUndefined();
    expect(await readTicket('x'.repeat(40), signed, { saleId: 's1', userId: 'ann', now })).toBeUndefined();
    const [header, , signature] = signed.split('.');
    const forged = Buffer.from(
      JSON.stringify({ sale: 's1', draw: { kind: 'counter', n: 1, shard: 0 }, sub: 'ann', aud: 'ticket' }),
    ).toString('base64url');
    expect(
      await readTicket(key, `${header}.${forged}.${signature}`, { saleId: 's1', userId: 'ann', now }),
    ).toBeUndefined();
  });
});
