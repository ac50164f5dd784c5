import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

export interface ArtilleryRun {
  exitCode: number;
  /** Lines from Artillery's "Checks:" block, e.g. { ok: false, check: "checkout.server_errors == 0" }. */
  checks: { ok: boolean; check: string }[];
  /** Artillery's aggregate report (counters, summaries), when it wrote one. */
  aggregate?: {
    counters?: Record<string, number>;
    summaries?: Record<string, Record<string, number>>;
  };
  pid?: number;
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** The artillery CLI of this project's node_modules, run by this Node (no npx, no shell). */
export function artilleryBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('artillery/package.json')), 'bin', 'run');
}

/**
 * Bundles the TypeScript processor to CommonJS with the project's esbuild, as Artillery would with
 * its own esbuild-wasm — which otherwise keeps a WebAssembly esbuild service process busy (about a
 * quarter of a core here) for the whole drill. Returns the bundle's path for `config.processor`.
 */
export async function bundleProcessor(source: string, outDir: string): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  // The repository is "type": "module"; this folder holds CommonJS.
  writeFileSync(join(outDir, 'package.json'), '{ "type": "commonjs" }\n');
  const outfile = join(outDir, 'processor.js');
  await build({
    entryPoints: [source],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
  });
  return outfile;
}

/**
 * Runs `artillery run` as a child with one local worker and telemetry off; its output goes to the
 * console and to `logFile`. Killed after `timeoutMs` (every drill is bounded).
 */
export function runArtillery(options: {
  script: string;
  target: string;
  overrides: unknown;
  outputJson: string;
  logFile: string;
  env: Record<string, string>;
  timeoutMs: number;
  onStart?: (pid: number | undefined) => void;
}): Promise<ArtilleryRun> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(options.logFile);
    const child = spawn(
      process.execPath,
      [
        artilleryBin(),
        'run',
        '--target',
        options.target,
        '--output',
        options.outputJson,
        '--overrides',
        JSON.stringify(options.overrides),
        options.script,
      ],
      {
        env: {
          ...process.env,
          // Artillery would otherwise report usage to its makers; drills stay on this machine.
          ARTILLERY_DISABLE_TELEMETRY: 'true',
          // One worker: buyers are handed out from one counter (see processor.ts).
          WORKERS: '1',
          ...options.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    options.onStart?.(child.pid);
    const checks: ArtilleryRun['checks'] = [];
    let tail = '';
    const onData = (chunk: Buffer, stream: NodeJS.WriteStream) => {
      log.write(chunk);
      stream.write(chunk);
      tail += chunk.toString();
      const lines = tail.split('\n');
      tail = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^(ok|fail): (.*)$/.exec(line.replace(ANSI, '').trim());
        if (m) checks.push({ ok: m[1] === 'ok', check: (m[2] ?? '').replace(/ \(optional\)$/, '') });
      }
    };
    child.stdout.on('data', (c: Buffer) => onData(c, process.stdout));
    child.stderr.on('data', (c: Buffer) => onData(c, process.stderr));
    const timer = setTimeout(() => {
      console.error(
        `Artillery did not finish within ${Math.round(options.timeoutMs / 1000)} s; stopping it.`,
      );
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      log.end();
      let aggregate: ArtilleryRun['aggregate'];
      try {
        aggregate = (
          JSON.parse(readFileSync(options.outputJson, 'utf8')) as { aggregate?: ArtilleryRun['aggregate'] }
        ).aggregate;
      } catch {
        aggregate = undefined;
      }
      resolve({ exitCode: code ?? 1, checks, aggregate, pid: child.pid });
    });
  });
}
