import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

/**
 * Stoplight Prism as a validating proxy: every request and answer passing through it is checked
 * against an OpenAPI document, and what breaks it comes back in the answer's `sl-violations`
 * header (Prism forwards it unchanged, `--errors false`). Started on a free loopback port.
 */
export interface Violation {
  location: string[];
  severity: string;
  code: string | number;
  message: string;
}

export interface Exchange {
  call: string;
  status: number;
  request: Violation[];
  response: Violation[];
}

export interface Prism {
  url: string;
  /** A transport for the API client that records each exchange's violations. */
  fetch: (request: Request) => Promise<Response>;
  exchanges: Exchange[];
  output(): string;
  stop(): Promise<void>;
}

const prismCli = join(
  dirname(createRequire(import.meta.url).resolve('@stoplight/prism-cli/package.json')),
  'dist/index.js',
);

export async function startPrism(document: string, upstream: string): Promise<Prism> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [prismCli, 'proxy', document, upstream, '--port', String(port), '--host', '127.0.0.1'].concat([
      '--errors',
      'false',
      '--cors',
      'false',
    ]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  await listening(child, () => output, 60_000);
  const exchanges: Exchange[] = [];
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    output: () => output,
    async fetch(request) {
      const call = `${request.method} ${new URL(request.url).pathname}${new URL(request.url).search}`;
      const res = await fetch(request);
      const violations = JSON.parse(res.headers.get('sl-violations') ?? '[]') as Violation[];
      exchanges.push({
        call,
        status: res.status,
        request: violations.filter((v) => v.location[0] === 'request'),
        response: violations.filter((v) => v.location[0] !== 'request'),
      });
      return res;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    },
  };
}

async function listening(child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!output().includes('Prism is listening')) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`Prism did not start (exit ${child.exitCode}):\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
