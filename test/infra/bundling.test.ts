import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    context: { 'aws:cdk:enable-asset-metadata': true, jwtIssuer: 'https://issuer.example.com' },
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

  it('points every function at its bundle', () => {
    for (const key of fnKeys) {
      const fn = s.stateless.toJSON().Resources[logicalId(s.built.stateless.functions.get(key))] as Json;
      expect(props(fn).Handler).toBe('index.handler');
    }
  });
});
