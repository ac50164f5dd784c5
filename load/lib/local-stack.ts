/**
 * The local stack a drill or a bench part measures: the runtime as `npm start` runs it (with the
 * drill's options), a DynamoDB client on its tables, and the load generator in a process of its
 * own. Everything is stopped, and the data dir removed, once the drill is done (or failed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Runtime, type RuntimeOptions, startRuntime } from '../../local/runtime/index.ts';
import { documentClient } from '../../shared/adapters/dynamo/client.ts';
import { ClientProcess } from './generator-process.ts';

export interface LocalStack {
  runtime: Runtime;
  db: DynamoDBDocumentClient;
  generator: ClientProcess;
  /** The runtime's data dir (the dev issuer's key). */
  dataDir: string;
}

export async function withLocalStack<T>(
  name: string,
  options: Omit<RuntimeOptions, 'port' | 'dataDir'>,
  drill: (stack: LocalStack) => Promise<T>,
): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), `flash-${name}-`));
  let runtime: Runtime | undefined;
  let db: DynamoDBDocumentClient | undefined;
  let generator: ClientProcess | undefined;
  try {
    runtime = await startRuntime({ port: 0, dataDir, ...options });
    db = documentClient({
      region: runtime.endpoints.region,
      endpoints: { dynamodb: runtime.endpoints.dynamodb },
    });
    generator = new ClientProcess();
    return await drill({ runtime, db, generator, dataDir });
  } finally {
    generator?.stop();
    db?.destroy();
    await runtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
