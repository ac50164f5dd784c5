import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BUNDLE_FILE, ESM_REQUIRE_BANNER, esbuildOptions } from '../../infra/bundling.ts';
import { REPO_ROOT } from '../../infra/functions.ts';
import { type FunctionKey, functionSpecs } from '../../shared/wiring.ts';
import { type Json, logicalId, props, type Synthesized, synth } from './support.ts';

const fnKeys = Object.keys(functionSpecs) as FunctionKey[];

// The one test file that runs esbuild through CDK (local esbuild, no Docker), as `cdk synth` does.
let s: Synthesized;
const scratch = mkdtempSync(path.join(tmpdir(), 'flash-sale-bundle-'));

beforeAll(() => {
  s = synth({
    bundle: true,
    context: {
      'aws:cdk:enable-asset-metadata': true,
      jwtIssuer: 'https://issuer.example.com',
      jwtAudience: 'flash-sale-api',
    },
  });
}, 240_000);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function assetDir(key: FunctionKey): string {
  const fn = s.stateless.toJSON().Resources[logicalId(s.built.stateless.functions.get(key))] as Json;
  const metadata = fn.Metadata as Record<string, string>;
  return path.join(s.app.outdir, metadata['aws:asset:path'] as string);
}

describe('bundles', () => {
  it.each(fnKeys)('%s: one minified ESM file with the require banner and a linked source map', (key) => {
    const dir = assetDir(key);
    const code = readFileSync(path.join(dir, BUNDLE_FILE), 'utf8');
    // Booleans, not string matchers: a failure must not print a megabyte of bundle.
    expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    expect(code.trimEnd().endsWith(`//# sourceMappingURL=${BUNDLE_FILE}.map`)).toBe(true);
    expect(existsSync(path.join(dir, `${BUNDLE_FILE}.map`))).toBe(true);
    // The AWS SDK is bundled, not imported from the runtime's copy.
    // (An SDK error message mentions `import "@aws-sdk/signature-v4-crt"`, hence the anchors.)
    expect(/from\s*["']@aws-sdk\//.test(code)).toBe(false);
    expect(/(^|[;\n])import\s*["']@aws-sdk\//m.test(code)).toBe(false);
    expect(/export\s*\{[^}]*as handler/.test(code)).toBe(true);
  });

  it('bundles the SDK clients a function uses (placeOrder: DynamoDB and SQS)', () => {
    const code = readFileSync(path.join(assetDir('placeOrder'), BUNDLE_FILE), 'utf8');
    expect(code.includes('TransactWriteItems')).toBe(true);
    expect(code.includes('SendMessage')).toBe(true);
  });

  it('esbuildOptions() reproduces the CDK bundle byte for byte (one definition of the options)', async () => {
    const entry = path.join(REPO_ROOT, functionSpecs.placeOrder.entry);
    const result = await build({
      ...esbuildOptions(entry, scratch),
      absWorkingDir: REPO_ROOT,
      metafile: true,
    });
    const ours = readFileSync(path.join(scratch, BUNDLE_FILE), 'utf8');
    const cdks = readFileSync(path.join(assetDir('placeOrder'), BUNDLE_FILE), 'utf8');
    expect(ours.length).toBe(cdks.length);
    expect(ours === cdks).toBe(true);
    // Nothing left external: the bundle imports only Node built-ins.
    const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
    expect(imports.filter((p) => !p.startsWith('node:') && !/^[a-z_]+$/.test(p))).toEqual([]);
  });

  it('buyerPage: the page the minified bundle serves parses, and its embedded room rules compute a place', async () => {
    // As the CDK app configures the function (its config is read once, at import).
    vi.stubEnv('PAYMENT_GATEWAY', 'simulated');
    const page = (await import(path.join(assetDir('buyerPage'), BUNDLE_FILE))) as {
      handler: (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
    };
    const res = await page.handler(
      { httpMethod: 'GET', path: '/', headers: {}, requestContext: {} },
      { functionName: 'buyerPage', awsRequestId: 'r', getRemainingTimeInMillis: () => 3_000 },
    );
    expect(res.statusCode).toBe(200);
    const script = /<script>([\s\S]*)<\/script>/.exec(res.body)?.[1] ?? '';
    expect(() => new Function(script)).not.toThrow();
    const rules = /const rules = (\(\(\) => \{[\s\S]*?\}\)\(\));/.exec(script)?.[1] ?? 'undefined';
    const { stateFromDocument } = new Function(`return ${rules}`)() as {
      stateFromDocument: (doc: unknown, draw: unknown) => { state: string; position: number };
    };
    const doc = {
      saleId: 'x',
      asOf: 10_000,
      available: 5,
      bought: 0,
      room: {
        admitPerSecond: 1,
        opensAt: '',
        tokenSeconds: 60,
        counterShards: 2,
        overAdmit: 2,
        base: 0,
        t0: 0,
        paused: false,
      },
      counts: { preStart: 3, counters: [2, 1] },
      nowServing: 10,
      joined: 6,
    };
    expect(stateFromDocument(doc, { kind: 'counter', n: 1, shard: 1 })).toMatchObject({
      state: 'ADMITTED',
      position: 5,
    });
    vi.unstubAllEnvs();
  });

  it('points every function at its bundle', () => {
    for (const key of fnKeys) {
      const fn = s.stateless.toJSON().Resources[logicalId(s.built.stateless.functions.get(key))] as Json;
      expect(props(fn).Handler).toBe('index.handler');
    }
  });
});
