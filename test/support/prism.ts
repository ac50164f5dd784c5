import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { type Transport, viaFetch } from '../../load/lib/api-client.ts';

/**
 * Stoplight Prism as a validating proxy: every request and answer passing through it is checked
 * against an OpenAPI document. By default (`--errors false`) what breaks it comes back in the
 * answer's `sl-violations` header and the exchange is forwarded unchanged; with `errors`, a request
 * outside the document is answered 422 without reaching the upstream, an answer outside it is
 * replaced by a 500, and each is logged as an error (see `log`). Started on a free loopback port.
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
  fetch: Transport;
  exchanges: Exchange[];
  output(): string;
  /**
   * From Prism's own log: requests received, and every line logged as an error or a warning or
   * naming a violation. With `errors`, first waits until Prism has logged all it will about the
   * requests answered so far (it logs a breach just after answering, so the line can trail the answer).
   */
  log(): Promise<{ received: number; problems: string[] }>;
  stop(): Promise<void>;
}

const prismCli = join(
  dirname(createRequire(import.meta.url).resolve('@stoplight/prism-cli/package.json')),
  'dist/index.js',
);

export async function startPrism(
  document: string,
  upstream: string,
  options: { errors?: boolean } = {},
): Promise<Prism> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [prismCli, 'proxy', document, upstream, '--port', String(port), '--host', '127.0.0.1'].concat([
      '--errors',
      String(options.errors ?? false),
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
  const url = `http://127.0.0.1:${port}`;
  const lines = () => output.replace(ANSI_COLOUR, '').split('\n');
  let syncs = 0;
  /** A request Prism refuses (no such path) and logs after everything answered before it. */
  async function sync(): Promise<void> {
    syncs += 1;
    await (await fetch(`${url}${SYNC_PATH}`)).arrayBuffer();
    const deadline = Date.now() + 10_000;
    while (lines().filter((line) => line.includes(SYNC_PATH) && line.includes('terminated')).length < syncs) {
      if (Date.now() > deadline) throw new Error(`Prism did not log its answer to ${SYNC_PATH}:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return {
    url,
    exchanges,
    output: () => output,
    async log() {
      if (options.errors) await sync();
      // Signale's lines: `[time] › [HTTP SERVER] post /v1/x ✖  error     Request terminated with error: …`.
      const logged = lines().filter((line) => !line.includes(SYNC_PATH));
      return {
        received: logged.filter((line) => line.includes('Request received')).length,
        problems: logged.filter((line) => /\s(error|warning|fatal)\s{2,}|Violation:/.test(line)),
      };
    },
    async fetch(request, signal) {
      const call = `${request.method} ${new URL(request.url).pathname}${new URL(request.url).search}`;
      const res = await viaFetch(request, signal);
      const violations = JSON.parse(String(res.headers['sl-violations'] ?? '[]')) as Violation[];
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

const SYNC_PATH = '/__prism-log-sync';
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape that starts a colour code
const ANSI_COLOUR = /\u001b\[[0-9;]*m/g;

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
