import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, type Reply, startHarness } from '../support/harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ consumers: false });
});
afterAll(async () => {
  await h?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function join(userId: string, saleId: string): Promise<Reply> {
  return h.call('POST', `/sales/${saleId}/queue`, { token: await h.token(userId) });
}
async function status(userId: string, saleId: string): Promise<Reply> {
  return h.call('GET', `/sales/${saleId}/queue/me`, { token: await h.token(userId) });
}
async function buyWith(userId: string, saleId: string, admission?: string, key = `k-${userId}`) {
  return h.call('POST', `/sales/${saleId}/orders`, {
    token: await h.token(userId),
    headers: { 'idempotency-key': key, ...(admission ? { 'admission-token': admission } : {}) },
    body: { quantity: 1, paymentToken: 'tok_ok' },
  });
}
/** Every item of the sale in both tables, to prove a request wrote nothing. */
async function itemsOf(saleId: string): Promise<string> {
  const tables = h.runtime.resources.tableNames;
  const all = await Promise.all(
    [tables.sales, tables.orders].map(
      async (TableName) =>
        (
          await h.db.send(
            new ScanCommand({
              TableName,
              ConsistentRead: true,
              FilterExpression: 'saleId = :s',
              ExpressionAttributeValues: { ':s': saleId },
            }),
          )
        ).Items ?? [],
    ),
  );
  return JSON.stringify(all.map((items) => items.map((i) => JSON.stringify(i)).sort()));
}

describe('a sale with a waiting room, joined before its start', () => {
  let saleId: string;
  let startsAt: number;

  beforeAll(async () => {
    startsAt = Date.now() + 4_000;
    ({ saleId } = await h.createSale({
      totalStock: 5,
      perUserLimit: 1,
      startsAt: new Date(startsAt).toISOString(),
      waitingRoom: { admitPerSecond: 2, tokenSeconds: 30 },
    }));
  });

  it('gives each buyer one ticket; joining again returns the same one', async () => {
    const first = await join('early-a', saleId);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ saleId, state: 'WAITING', nowServing: 0 });
    expect(first.headers.get('cache-control')).toMatch(/^private, max-age=\d$/);
    expect(first.headers.get('vary')).toBe('Authorization');
    await join('early-b', saleId);
    await join('early-c', saleId);
    const again = await join('early-a', saleId);
    expect(again.status).toBe(200);
    const items = JSON.parse(await itemsOf(saleId)) as string[][];
    const tickets = (items[0] ?? []).filter((i) => i.includes('"kind":"ticket"'));
    expect(tickets).toHaveLength(3);
    expect(tickets.every((t) => t.includes('"kind":"lottery"'))).toBe(true);
  });

  it('answers status without writing anything', async () => {
    const before = await itemsOf(saleId);
    for (const user of ['early-a', 'early-b', 'early-c', 'early-a']) {
      const res = await status(user, saleId);
      expect(res.status).toBe(200);
      expect(res.body.state).toBe('WAITING');
      expect(res.body.etaSeconds).toBeGreaterThan(0);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(await itemsOf(saleId)).toBe(before);
    expect((await status('never-joined', saleId)).status).toBe(404);
  });

  it('refuses checkout without a valid admission token, changing nothing', async () => {
    const before = await itemsOf(saleId);
    const bare = await buyWith('early-a', saleId);
    expect(bare.status).toBe(403);
    expect(bare.body).toMatchObject({ error: { code: 'ADMISSION_REQUIRED' } });
    const forged = await buyWith('early-a', saleId, 'eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl');
    expect(forged.status).toBe(403);
    expect(await itemsOf(saleId)).toBe(before);
  });

  it('admits the line at the set rate after the start; the token buys, for its own buyer only', async () => {
    await sleep(Math.max(0, startsAt - Date.now()) + 2_200);
    const admitted = await h.waitFor(async () => {
      const res = await status('early-a', saleId);
      return res.body.state === 'ADMITTED' ? res : undefined;
    }, 'early-a admitted');
    expect(admitted.headers.get('cache-control')).toBe('private, max-age=0');
    const token = String(admitted.body.admissionToken);
    const stolen = await buyWith('early-b', saleId, token);
    expect(stolen.status).toBe(403);
    expect(stolen.body).toMatchObject({ error: { code: 'ADMISSION_REQUIRED' } });
    const bought = await buyWith('early-a', saleId, token);
    expect(bought.status).toBe(202);
    expect(bought.body).toMatchObject({ saleId, status: 'RESERVED' });
  });

  it('gives post-start joiners a counter ticket behind every pre-start joiner', async () => {
    const late = await join('late-d', saleId);
    expect(late.status).toBe(201);
    expect(Number(late.body.position)).toBeGreaterThan(3);
    const items = JSON.parse(await itemsOf(saleId)) as string[][];
    const ticket = (items[0] ?? []).find((i) => i.includes('"userId":"late-d"') && i.includes('ticket'));
    expect(ticket).toContain('"kind":"counter"');
  });

  it('shows the room to operators in GET /sales/{id}', async () => {
    await sleep(1_100);
    const res = await h.call('GET', `/sales/${saleId}`);
    expect(res.status).toBe(200);
    expect(res.body.waitingRoom).toMatchObject({ admitPerSecond: 2, paused: false, joined: 4 });
    expect(Number((res.body.waitingRoom as { nowServing: number }).nowServing)).toBeGreaterThan(0);
  });
});

describe('operators and edges', () => {
  it('pauses and resumes admission with PATCH, admins only, validating the body', async () => {
    const { saleId } = await h.createSale({ waitingRoom: { admitPerSecond: 1 } });
    const admin = await h.token('admin', true);
    const patch = (body: unknown, token = admin) => h.call('PATCH', `/sales/${saleId}`, { token, body });
    expect((await patch({ waitingRoom: { paused: true } }, await h.token('buyer-x'))).status).toBe(403);
    expect((await patch({ waitingRoom: {} })).status).toBe(400);
    expect((await patch({ waitingRoom: { admitPerSecond: -1 } })).status).toBe(400);
    const paused = await patch({ waitingRoom: { paused: true } });
    expect(paused.status).toBe(200);
    const frozen = (paused.body.waitingRoom as { nowServing: number }).nowServing;
    expect(paused.body.waitingRoom).toMatchObject({ paused: true, admitPerSecond: 1 });
    await sleep(1_500);
    const still = await h.call('GET', `/sales/${saleId}`);
    expect(still.body.waitingRoom).toMatchObject({ paused: true, nowServing: frozen });
    const resumed = await patch({ waitingRoom: { paused: false, admitPerSecond: 100 } });
    expect(resumed.body.waitingRoom).toMatchObject({
      paused: false,
      admitPerSecond: 100,
      nowServing: frozen,
    });
    const plain = await h.createSale();
    const noRoom = await h.call('PATCH', `/sales/${plain.saleId}`, {
      token: admin,
      body: { waitingRoom: { paused: true } },
    });
    expect(noRoom.status).toBe(404);
  });

  it('tells every waiter SOLD_OUT once the last unit is gone', async () => {
    const { saleId } = await h.createSale({
      totalStock: 1,
      perUserLimit: 1,
      waitingRoom: { admitPerSecond: 1_000 },
    });
    const first = await join('fast-1', saleId);
    expect(first.body.state).toBe('ADMITTED');
    await join('slow-2', saleId);
    expect((await buyWith('fast-1', saleId, String(first.body.admissionToken))).status).toBe(202);
    const told = await h.waitFor(
      async () => {
        const res = await status('slow-2', saleId);
        return res.body.state === 'SOLD_OUT' ? res : undefined;
      },
      'SOLD_OUT for the waiter',
      5_000,
    );
    expect(told.body).toMatchObject({ state: 'SOLD_OUT', saleId });
  });

  it('counts buyers who bought as done: the next place opens at once, not a token life later', async () => {
    // 3 units, 2 live admissions per unit left: 6 admitted at first. After 2 units sold, the cap
    // is 2 bought + 2 × 1 left = 4; counting only the schedule of a token life ago (300 s), it
    // was 0 + 2, and the 4th in line waited 300 s for a unit its 2 predecessors had long bought.
    const { saleId } = await h.createSale({
      totalStock: 3,
      perUserLimit: 1,
      waitingRoom: { admitPerSecond: 1_000, tokenSeconds: 300 },
    });
    const joins = await Promise.all(
      ['q-1', 'q-2', 'q-3', 'q-4'].map(async (u) => ({ u, r: await join(u, saleId) })),
    );
    const byPlace = joins.sort((a, b) => Number(a.r.body.position) - Number(b.r.body.position));
    expect(byPlace.map((j) => j.r.body.state)).toEqual(['ADMITTED', 'ADMITTED', 'ADMITTED', 'ADMITTED']);
    for (const { u, r } of byPlace.slice(0, 2))
      expect((await buyWith(u, saleId, String(r.body.admissionToken))).status).toBe(202);
    const fourth = byPlace[3] as (typeof byPlace)[number];
    const admitted = await h.waitFor(
      async () => {
        const res = await status(fourth.u, saleId);
        const room = await h.call('GET', `/sales/${saleId}/room`);
        return room.body.available === 1 && res.body.state === 'ADMITTED' ? { res, room } : undefined;
      },
      'the 4th in line still admitted after 2 of 3 units sold',
      5_000,
    );
    expect(admitted.room.body).toMatchObject({ available: 1, bought: 2, nowServing: 4 });
    expect((await buyWith(fourth.u, saleId, String(admitted.res.body.admissionToken))).status).toBe(202);
  });

  it('leaves sales without a room as they were, and refuses joins before the room opens', async () => {
    const plain = await h.createSale();
    expect((await buyWith('no-room-buyer', plain.saleId)).status).toBe(202);
    expect((await join('no-room-buyer', plain.saleId)).status).toBe(404);
    const later = await h.createSale({
      startsAt: new Date(Date.now() + 3_600_000).toISOString(),
      endsAt: new Date(Date.now() + 7_200_000).toISOString(),
      waitingRoom: { admitPerSecond: 5, opensAt: new Date(Date.now() + 1_800_000).toISOString() },
    });
    const early = await join('too-early', later.saleId);
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ error: { code: 'SALE_NOT_ACTIVE' } });
    const bad = await h.call('POST', '/sales', {
      token: await h.token('admin', true),
      body: {
        name: 'x',
        price: 1,
        currency: 'EUR',
        totalStock: 1,
        perUserLimit: 1,
        startsAt: '2026-01-01T00:00:00Z',
        endsAt: '2026-01-02T00:00:00Z',
        waitingRoom: { admitPerSecond: 0 },
      },
    });
    expect(bad.status).toBe(400);
  });

  it('serves the buyer page at /', async () => {
    const res = await fetch(`${h.runtime.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'sha256-/);
    expect(await res.text()).toContain('Join the line');
  });
});
