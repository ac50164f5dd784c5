/**
 * What `npm run load` drills: the local runtime, started in this process (DynamoDB Local in memory,
 * fauxqs, HTTP, consumers, reconciler), or a deployed stack at --target, with table access for the
 * audit when SALES_TABLE, ORDERS_TABLE, PAYMENTS_TABLE and CLAIMS_TABLE are set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Runtime, startRuntime } from '../../local/runtime/index.ts';
import { documentClient } from '../../shared/adapters/dynamo/client.ts';
import type { AuditTables } from '../../shared/audit/invariants.ts';
import type { Settings } from './settings.ts';

export interface Target {
  baseUrl: string;
  /** The runtime started here, and its data dir (the dev issuer's key); absent for a deployed stack. */
  local?: { runtime: Runtime; dataDir: string };
  /** Table access, for the stock chart, settling and the audit. */
  tables?: { db: DynamoDBDocumentClient; names: AuditTables };
  close(): Promise<void>;
}

export async function openTarget(s: Settings): Promise<Target> {
  if (s.target) {
    const names = [
      process.env.SALES_TABLE,
      process.env.ORDERS_TABLE,
      process.env.PAYMENTS_TABLE,
      process.env.CLAIMS_TABLE,
    ];
    const db = names.every(Boolean)
      ? documentClient({
          region: process.env.AWS_REGION ?? 'us-east-1',
          endpoints: { dynamodb: process.env.DYNAMODB_ENDPOINT },
        })
      : undefined;
    return {
      // No trailing slash: Artillery appends each request's path ("/sales/…") to the target.
      baseUrl: s.target.replace(/\/+$/, ''),
      ...(db
        ? {
            tables: {
              db,
              names: {
                sales: names[0] as string,
                orders: names[1] as string,
                payments: names[2] as string,
                claims: names[3] as string,
              },
            },
          }
        : {}),
      close: async () => db?.destroy(),
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'flash-load-'));
  console.log('Starting the local runtime (DynamoDB Local, fauxqs, HTTP, consumers, reconciler)…');
  const runtime = await startRuntime({
    port: 0,
    dataDir,
    inMemory: true,
    reconcileIntervalSeconds: s.reconcileSeconds,
    env: {
      PAYMENT_DECLINE_RATE: String(s.declineRate),
      PAYMENT_ERROR_RATE: String(s.errorRate),
      PAYMENT_LATENCY_MS: String(s.latencyMs),
    },
  }).catch((error: unknown) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });
  const db = documentClient({
    region: runtime.endpoints.region,
    endpoints: { dynamodb: runtime.endpoints.dynamodb },
  });
  console.log(`Runtime at ${runtime.url}; DynamoDB Local at ${runtime.endpoints.dynamodb}`);
  return {
    baseUrl: runtime.url,
    local: { runtime, dataDir },
    tables: { db, names: runtime.resources.tableNames },
    close: async () => {
      db.destroy();
      await runtime.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
