/**
 * Bundle weight and import time per function of the wiring table: each entry bundled the way the
 * CDK bundles it (esbuild, minified ESM, SDK bundled), then imported by N fresh `node` processes.
 * The options come from infra/bundling.ts when that module is there (the CDK app's single source);
 * otherwise the documented defaults below are used and the result says so.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type BuildOptions, build, type Metafile, type Plugin } from 'esbuild';
import { median, round } from '../load/lib/stats.ts';
import { type FunctionKey, functionSpecs, queues, tables, topics } from '../shared/wiring.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');

/** Used only when infra/bundling.ts is missing: what the brief and the CDK construct settle on. */
const FALLBACK_BANNER =
  "import { createRequire as topLevelCreateRequire } from 'node:module';const require = topLevelCreateRequire(import.meta.url);";
function fallbackOptions(entryPoint: string, outdir: string): BuildOptions {
  return {
    entryPoints: [entryPoint],
    outfile: join(outdir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    minify: true,
    treeShaking: true,
    external: [],
    banner: { js: FALLBACK_BANNER },
    logLevel: 'warning',
  };
}

export interface FunctionWeight {
  entry: string;
  bytes: number;
  importMs: number;
  importRunsMs: number[];
}

export interface ColdStartResult {
  options: { source: string; note: string };
  runsPerFunction: number;
  node: string;
  functions: Record<string, FunctionWeight>;
  /** What the checkout bundle is made of, largest first (esbuild metafile, bytes in output). */
  placeOrderComposition: { module: string; bytes: number }[];
  /** The checkout bundled with Powertools Tracer (and so the X-Ray SDK) replaced by a no-op: what it costs. */
  placeOrderWithoutTracer: { bytes: number; importMs: number; note: string };
}

/** A stand-in for @aws-lambda-powertools/tracer: measurement only, never shipped. */
const TRACER_STUB = `export class Tracer { getSegment() {} isTracingEnabled() { return false; } }
export const captureLambdaHandler = () => ({ before: async () => {} });
`;

function stubTracer(stubFile: string): Plugin {
  return {
    name: 'stub-tracer',
    setup(b) {
      b.onResolve({ filter: /^@aws-lambda-powertools\/tracer(\/middleware)?$/ }, () => ({ path: stubFile }));
    },
  };
}

type OptionsFactory = (entry: string, outdir: string) => BuildOptions;

async function bundlingOptions(): Promise<{ factory: OptionsFactory; source: string; note: string }> {
  const file = join(ROOT, 'infra', 'bundling.ts');
  if (existsSync(file)) {
    // A computed specifier: this benchmark must also type-check and run before infra/ has the module.
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    if (typeof mod.esbuildOptions === 'function') {
      return {
        factory: mod.esbuildOptions as OptionsFactory,
        source: 'infra/bundling.ts esbuildOptions()',
        note: 'the CDK app’s own bundling options (minified ESM, target node22, SDK bundled, require banner)',
      };
    }
  }
  return {
    factory: fallbackOptions,
    source: 'bench/cold-start.ts fallback',
    note: 'infra/bundling.ts not found: format esm, platform node, target node22, bundle, minify, mainFields module/main, treeShaking, SDK bundled, createRequire banner',
  };
}

/** Environment that passes every function's config schema without touching anything real. */
function fakeEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    JWT_ISSUER: 'https://issuer.example',
    JWKS_URL: 'https://issuer.example/.well-known/jwks.json',
    JWT_AUDIENCE: 'flash-sale-api',
    PAYMENT_GATEWAY: 'simulated',
    POWERTOOLS_SERVICE_NAME: 'flash-sale',
    POWERTOOLS_METRICS_NAMESPACE: 'FlashSale',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    TOKEN_SIGNING_KEY: 'bench-only-signing-key-0123456789abcdef',
  };
  for (const t of Object.values(tables)) env[t.envVar] = `bench-${t.name}`;
  for (const q of Object.values(queues))
    env[q.envVar] = `https://sqs.us-east-1.amazonaws.com/000000000000/bench-${q.name}`;
  for (const t of Object.values(topics)) env[t.envVar] = `arn:aws:sns:us-east-1:000000000000:bench-${t.name}`;
  return env;
}

const IMPORT_SCRIPT = `
const t0 = performance.now();
await import(process.argv[1]);
process.stdout.write(String(performance.now() - t0));
`;

async function importOnce(bundle: string, env: Record<string, string>): Promise<number> {
  const { stdout } = await run(
    process.execPath,
    ['--input-type=module', '-e', IMPORT_SCRIPT, pathToFileURL(bundle).href],
    { env, timeout: 30_000 },
  );
  const ms = Number(stdout.trim());
  if (!Number.isFinite(ms)) throw new Error(`import of ${bundle} printed ${stdout}`);
  return ms;
}

function composition(meta: Metafile, output: string): { module: string; bytes: number }[] {
  const inputs = meta.outputs[output]?.inputs ?? {};
  const byModule = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    const key = m
      ? (m[1] as string)
      : path.startsWith('shared/') || path.startsWith('functions/')
        ? path.split('/').slice(0, 2).join('/')
        : path;
    byModule.set(key, (byModule.get(key) ?? 0) + bytesInOutput);
  }
  return [...byModule].map(([module, bytes]) => ({ module, bytes })).sort((a, b) => b.bytes - a.bytes);
}

export async function measureColdStart(
  outRoot: string,
  runs: number,
  log: (line: string) => void,
): Promise<ColdStartResult> {
  const { factory, source, note } = await bundlingOptions();
  const env = fakeEnv();
  const functions: Record<string, FunctionWeight> = {};
  let placeOrderComposition: ColdStartResult['placeOrderComposition'] = [];
  for (const [key, spec] of Object.entries(functionSpecs) as [
    FunctionKey,
    (typeof functionSpecs)[FunctionKey],
  ][]) {
    const outdir = join(outRoot, key);
    mkdirSync(outdir, { recursive: true });
    const options = factory(join(ROOT, spec.entry), outdir);
    const result = await build({ ...options, absWorkingDir: ROOT, metafile: true, write: true });
    const output = Object.keys(result.metafile.outputs).find((o) => o.endsWith('.mjs') || o.endsWith('.js'));
    if (!output) throw new Error(`esbuild wrote no JavaScript for ${key}`);
    const bundle = resolve(ROOT, output);
    const bytes = statSync(bundle).size;
    const timings: number[] = [];
    for (let i = 0; i < runs; i++) timings.push(await importOnce(bundle, env));
    functions[key] = {
      entry: spec.entry,
      bytes,
      importMs: round(median(timings), 1),
      importRunsMs: timings.map((t) => round(t, 1)),
    };
    if (key === 'placeOrder') placeOrderComposition = composition(result.metafile, output).slice(0, 15);
    log(
      `  ${key.padEnd(15)} ${String(bytes).padStart(9)} bytes   import ${round(median(timings), 1)} ms (median of ${runs})`,
    );
  }
  // What-if: the same checkout without the Tracer, to size what X-Ray instrumentation costs at cold start.
  const whatIfDir = join(outRoot, 'placeOrder-without-tracer');
  mkdirSync(whatIfDir, { recursive: true });
  const stubFile = join(whatIfDir, 'tracer-stub.mjs');
  writeFileSync(stubFile, TRACER_STUB);
  const whatIf = await build({
    ...factory(join(ROOT, functionSpecs.placeOrder.entry), whatIfDir),
    absWorkingDir: ROOT,
    metafile: true,
    plugins: [stubTracer(stubFile)],
  });
  const whatIfOut = Object.keys(whatIf.metafile.outputs).find(
    (o) => o.endsWith('.mjs') || o.endsWith('.js'),
  ) as string;
  const whatIfTimings: number[] = [];
  for (let i = 0; i < runs; i++) whatIfTimings.push(await importOnce(resolve(ROOT, whatIfOut), env));
  const placeOrderWithoutTracer = {
    bytes: statSync(resolve(ROOT, whatIfOut)).size,
    importMs: round(median(whatIfTimings), 1),
    note: 'placeOrder with @aws-lambda-powertools/tracer replaced by a no-op stub (measurement only)',
  };
  log(
    `  placeOrder without Tracer/X-Ray: ${placeOrderWithoutTracer.bytes} bytes, import ${placeOrderWithoutTracer.importMs} ms`,
  );
  return {
    options: { source, note },
    runsPerFunction: runs,
    node: process.version,
    functions,
    placeOrderComposition,
    placeOrderWithoutTracer,
  };
}
