import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import type { RuntimeState } from '../../local/state.ts';
import { documentClient } from '../../shared/adapters/dynamo/client.ts';
import { auditSale, formatReport } from '../../shared/audit/invariants.ts';

// `npm start` in child processes on an on-disk data dir, killed the hard way (SIGKILL).
const ROOT = resolve(import.meta.dirname, '..', '..');
/** Every pid these tests started or saw started (runtimes and their DynamoDB Local), for cleanup. */
const pids = new Set<number>();
const dirs: string[] = [];

afterAll(async () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/ Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ''));
  } catch {
    return false;
  }
};

async function until<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Started {
  child: ChildProcess;
  state: RuntimeState;
  output: () => string;
  exited: Promise<number | null>;
}

async function startNpmStart(dataDir: string, env: Record<string, string> = {}): Promise<Started> {
  let output = '';
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'local/start.ts', '--port', '0', '--data-dir', dataDir],
    {
      cwd: ROOT,
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  if (child.pid) pids.add(child.pid);
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const stateFile = join(dataDir, 'runtime.json');
  const state = await until(
    () => {
      if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}: ${output}`);
      if (!output.includes('running at') || !existsSync(stateFile)) return undefined;
      const s = JSON.parse(readFileSync(stateFile, 'utf8')) as RuntimeState;
      return s.url ? s : undefined;
    },
    'npm start to be ready',
    90_000,
  );
  if (state.dynamodbPid) pids.add(state.dynamodbPid);
  return { child, state, output: () => output, exited };
}

async function adminToken(url: string): Promise<string> {
  const res = await fetch(`${url}/dev/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId: 'crash-admin', admin: true }),
  });
  return ((await res.json()) as { token: string }).token;
}

async function createSale(url: string, saleId: string, totalStock: number): Promise<void> {
  const now = Date.now();
  const res = await fetch(`${url}/sales`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await adminToken(url)}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      saleId,
      name: 'Crash drill',
      price: 1000,
      currency: 'EUR',
      totalStock,
      perUserLimit: 1,
      startsAt: new Date(now - 60_000).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      holdSeconds: 900,
    }),
  });
  expect(res.status).toBe(201);
}

describe('a crashed npm start', () => {
  it('leaves DynamoDB Local behind; the next start stops it, says so, and runs on the same data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flash-stale-'));
    dirs.push(dir);
    const first = await startNpmStart(dir);
    expect(first.state.pid).toBe(first.child.pid);
    const java = first.state.dynamodbPid as number;
    expect(java).toBeGreaterThan(0);
    await createSale(first.state.url, 'survives', 5);

    first.child.kill('SIGKILL');
    await first.exited;
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(java)).toBe(true); // the orphan the issue describes

    const second = await startNpmStart(dir);
    expect(second.output()).toContain(`Stopped a stale DynamoDB Local (pid ${java}`);
    expect(alive(java)).toBe(false);
    expect(second.state.dynamodbPid).not.toBe(java);
    const sale = await fetch(`${second.state.url}/sales/survives`);
    expect(sale.status).toBe(200);
    expect(((await sale.json()) as { totalStock: number }).totalStock).toBe(5);

    // A third start on the same data dir while the second runs is refused, naming the live pid.
    const third = spawn(
      process.execPath,
      ['--import', 'tsx', 'local/start.ts', '--port', '0', '--data-dir', dir],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    if (third.pid) pids.add(third.pid);
    let thirdOutput = '';
    third.stderr?.on('data', (c: Buffer) => (thirdOutput += c.toString()));
    const thirdCode = await new Promise<number | null>((done) => third.once('exit', done));
    expect(thirdCode).toBe(1);
    expect(thirdOutput).toContain(`A local runtime (pid ${second.child.pid}) is already running`);
    expect(alive(second.state.dynamodbPid as number)).toBe(true);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(alive(second.state.dynamodbPid as number)).toBe(false);
  });

  it('killed while payments are in flight: after a restart every accepted order ends CONFIRMED, audit clean', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flash-crash-'));
    dirs.push(dir);
    // Slow payments keep jobs in flight; a short reconcile period and grace find lost ones soon.
    const env = { PAYMENT_LATENCY_MS: '250', RECONCILE_INTERVAL_SECONDS: '2', REENQUEUE_GRACE_SECONDS: '2' };
    const first = await startNpmStart(dir, env);
    const saleId = 'crash-drill';
    await createSale(first.state.url, saleId, 40);
    const accepted: string[] = [];
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const minted = await fetch(`${first.state.url}/dev/tokens`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ userId: `crash-buyer-${i}` }),
        });
        const { token } = (await minted.json()) as { token: string };
        for (let tries = 0; tries < 30; tries++) {
          const res = await fetch(`${first.state.url}/sales/${saleId}/orders`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
              'idempotency-key': `k-${i}`,
            },
            body: JSON.stringify({ quantity: 1, paymentToken: 'tok_ok' }),
          });
          const body = (await res.json()) as { orderId?: string };
          if (res.status === 202 || res.status === 200) return void accepted.push(body.orderId as string);
          // RETRY, or (until the checkout's time budget lands) a timeout's 500: same key again.
          expect([429, 500]).toContain(res.status);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }),
    );
    expect(accepted).toHaveLength(40);
    first.child.kill('SIGKILL');
    await first.exited;

    // DynamoDB Local outlived its parent: read what the crash left open.
    const tables = first.state.tableNames;
    const before = documentClient({
      region: 'us-east-1',
      endpoints: { dynamodb: first.state.endpoints.dynamodb },
    });
    const open = (
      await before.send(
        new ScanCommand({
          TableName: tables.orders,
          FilterExpression: '#s <> :c',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':c': 'CONFIRMED' },
        }),
      )
    ).Items?.length;
    before.destroy();
    expect(open, 'orders still open when the runtime was killed').toBeGreaterThan(0);

    const second = await startNpmStart(dir, env);
    const db = documentClient({
      region: 'us-east-1',
      endpoints: { dynamodb: second.state.endpoints.dynamodb },
    });
    try {
      const report = await until(
        async () => {
          const r = await auditSale(db, tables, saleId, { acceptedOrderIds: accepted, expectSettled: true });
          return r.ok && r.stock.sold === 40 ? r : undefined;
        },
        'every accepted order CONFIRMED with a clean audit',
        // A lost payment job is re-sent once it is one payments visibility timeout (90 s) overdue.
        150_000,
      ).catch(async (error: Error) => {
        const r = await auditSale(db, tables, saleId, { acceptedOrderIds: accepted, expectSettled: true });
        throw new Error(`${error.message}\n${formatReport(r)}`);
      });
      expect(report.ordersByStatus.CONFIRMED).toBe(40);
    } finally {
      db.destroy();
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 300_000);
});
