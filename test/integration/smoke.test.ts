/**
 * `npm run smoke` against the real local runtime (DynamoDB Local, fauxqs, the handler modules),
 * run as the separate process a user runs: it passes on a healthy stack, and fails (exit 1, the
 * broken invariant named) when one stock item of its sale is corrupted before it checks.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/functions.ts';
import { type Harness, startHarness } from '../support/harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ consumers: true });
});
afterAll(async () => {
  await h?.stop();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function smoke(args: string[]): Promise<Run> {
  const { tableNames } = h.runtime.resources;
  return new Promise((resolve) => {
    execFile(
      path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
      [
        path.join(REPO_ROOT, 'load', 'smoke.ts'),
        '--target',
        h.runtime.url,
        '--sales-table',
        tableNames.sales,
        '--orders-table',
        tableNames.orders,
        '--payments-table',
        tableNames.payments,
        '--claims-table',
        tableNames.claims,
        '--dynamodb-endpoint',
        h.runtime.endpoints.dynamodb,
        '--region',
        h.runtime.endpoints.region,
        ...args,
      ],
      { cwd: REPO_ROOT, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: unknown }).code as number | null) : 0;
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
}

describe('npm run smoke', () => {
  it('passes against a healthy local stack: HTTP checks and the full audit', async () => {
    const run = await smoke(['--settle-timeout', '60']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('Smoke test passed');
    expect(run.stdout).toContain('every invariant holds');
    expect(run.stdout).not.toContain('✗');
    expect(run.code).toBe(0);
  });

  it('exits 1 and names the broken invariant when an order is corrupted before the check', async () => {
    const saleId = `smoke-corrupt-${Date.now().toString(36)}`;
    // Hold settlement back so the corruption lands before the smoke command checks anything.
    await h.runtime.stopConsumers();
    const running = smoke(['--sale-id', saleId, '--settle-timeout', '60']);
    const { tableNames } = h.runtime.resources;
    const approved = await h.waitFor(async () => {
      const { Items = [] } = await h.db.send(
        new ScanCommand({
          TableName: tableNames.orders,
          FilterExpression: 'saleId = :s',
          ExpressionAttributeValues: { ':s': saleId },
          ConsistentRead: true,
        }),
      );
      return Items.length === 3 ? Items.find((item) => item.paymentToken === 'tok_ok') : undefined;
    }, `the smoke command's three orders of ${saleId}`);
    // The order now claims two units where one was taken: a unit sold that stock never gave.
    await h.db.send(
      new UpdateCommand({
        TableName: tableNames.orders,
        Key: { orderId: approved.orderId },
        UpdateExpression: 'SET quantity = :two',
        ExpressionAttributeValues: { ':two': 2 },
      }),
    );
    h.runtime.startConsumers();
    const run = await running;
    expect(run.stdout).toMatch(/✗ orders show the quantity bought: .*2/);
    expect(run.stdout).toMatch(/✗ stock: confirmed 3 \+ available 8 \+ held 0 = total 10/);
    expect(run.stdout).toMatch(/✗ stock does not balance/);
    expect(run.stdout).toContain('Smoke test FAILED');
    expect(run.code).toBe(1);
  });

  it('exits 2 with usage help on a bad invocation, before touching the stack', async () => {
    const run = await smoke([
      '--sales-table',
      'only-one',
      '--orders-table',
      '',
      '--payments-table',
      '',
      '--claims-table',
      '',
    ]);
    // Only one table name given (the others empty): the audit needs all four.
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('needs all four tables');
  });
});
