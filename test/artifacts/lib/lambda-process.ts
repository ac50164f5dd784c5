import { type ChildProcess, fork } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A function's error as Lambda reports it (`errorType`, `errorMessage`). */
export class LambdaError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
    readonly remoteStack: string,
  ) {
    super(message);
    this.name = 'LambdaError';
  }
}

export interface LambdaSpec {
  name: string;
  /** The asset directory `cdk deploy` zips and uploads. */
  assetDir: string;
  /** The template's Handler, e.g. `index.handler`. */
  handler: string;
  /** The template's Environment.Variables, resolved. */
  environment: Record<string, string>;
  /** What Lambda itself adds (region, credentials, endpoints of the emulators). */
  runtimeEnvironment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  nodePath: string;
}

export interface LambdaProcess {
  readonly name: string;
  /** Resolves after the cold start (the bundle's import); rejects with the init error. */
  readonly ready: Promise<void>;
  invoke<T = unknown>(event: unknown): Promise<T>;
  /** The function's recent stdout/stderr, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

const HOST = path.join(import.meta.dirname, '..', 'lambda-host.mjs');

/**
 * Starts one function as Lambda would: its bundle copied to a task root outside the repository
 * (so nothing resolves from the repo's node_modules), a fresh Node process with only the
 * template's environment plus Lambda's own variables, the handler imported once.
 */
export function startLambda(spec: LambdaSpec): LambdaProcess {
  const taskRoot = mkdtempSync(path.join(tmpdir(), `lambda-${spec.name}-`));
  cpSync(spec.assetDir, taskRoot, { recursive: true });
  const env = {
    ...spec.environment,
    ...spec.runtimeEnvironment,
    AWS_LAMBDA_FUNCTION_NAME: spec.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'artifact-test',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    LAMBDA_TASK_ROOT: taskRoot,
    _HANDLER: spec.handler,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
  };
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8_000);
  };
  const child: ChildProcess = fork(HOST, [], {
    execPath: spec.nodePath,
    execArgv: [],
    cwd: taskRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  });
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (raw) => {
      const message = raw as {
        type?: string;
        id?: number;
        ok?: boolean;
        result?: unknown;
        error?: { errorType: string; errorMessage: string; stack: string };
      };
      if (message.type === 'ready') return resolve();
      if (message.type === 'initError' && message.error) {
        const { errorType, errorMessage, stack } = message.error;
        return reject(new LambdaError(errorType, `${spec.name} failed to load: ${errorMessage}`, stack));
      }
      const waiter = pending.get(message.id as number);
      if (!waiter) return;
      pending.delete(message.id as number);
      if (message.ok) waiter.resolve(message.result);
      else {
        const { errorType, errorMessage, stack } = message.error ?? {
          errorType: '',
          errorMessage: '',
          stack: '',
        };
        waiter.reject(new LambdaError(errorType, errorMessage, stack));
      }
    });
    child.once('exit', (code) => {
      const error = new Error(`${spec.name} exited (${code}) before it was ready. Output:\n${log}`);
      reject(error);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    });
  });
  // A load failure is reported through `ready`; never as an unhandled rejection.
  ready.catch(() => undefined);

  return {
    name: spec.name,
    ready,
    async invoke<T>(event: unknown) {
      await ready;
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, event, timeoutMs: spec.timeoutSeconds * 1000 });
      });
    },
    output: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(taskRoot, { recursive: true, force: true });
    },
  };
}
