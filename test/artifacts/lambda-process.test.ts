/**
 * The artifact test's Lambda stand-in must fail exactly where Lambda would: a bundle that cannot
 * be imported (a module left external, CommonJS `require` in ESM without the banner, CommonJS
 * output in an .mjs file, no handler export) rejects `ready` with the reason; a working one loads
 * and answers.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ESM_REQUIRE_BANNER } from '../../infra/bundling.ts';
import { type LambdaProcess, startLambda } from './lib/lambda-process.ts';

const scratch = mkdtempSync(path.join(tmpdir(), 'flash-sale-broken-bundles-'));
const started: LambdaProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  rmSync(scratch, { recursive: true, force: true });
});

function bundle(name: string, code: string): LambdaProcess {
  const dir = path.join(scratch, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'index.mjs'), code);
  const fn = startLambda({
    name,
    assetDir: dir,
    handler: 'index.handler',
    environment: {},
    runtimeEnvironment: { AWS_REGION: 'eu-west-1' },
    timeoutSeconds: 5,
    memoryMb: 128,
    nodePath: process.execPath,
  });
  started.push(fn);
  return fn;
}

describe('a bundle that would not load in Lambda fails to load here', () => {
  it.each([
    [
      'a module left external',
      `import 'some-package-not-bundled';\nexport const handler = async () => 1;`,
      /some-package-not-bundled/,
    ],
    [
      'require without the banner',
      `const os = require('node:os');\nexport const handler = async () => os.EOL;`,
      /require is not defined/,
    ],
    ['CommonJS output in an .mjs file', `module.exports.handler = async () => 1;`, /module is not defined/],
    ['no handler export', `export const main = async () => 1;`, /index\.handler is not a function/],
  ])('%s', async (name, code, reason) => {
    await expect(bundle(name.replace(/\W+/g, '-'), code).ready).rejects.toThrow(reason);
  });

  it('a bundle with the banner, using require, loads and answers', async () => {
    const fn = bundle(
      'banner',
      `${ESM_REQUIRE_BANNER}\nconst os = require('node:os');\nexport const handler = async (event, context) => ({ echo: event.value, eol: os.EOL.length, fn: context.functionName, left: context.getRemainingTimeInMillis() > 0 });`,
    );
    await expect(fn.invoke({ value: 42 })).resolves.toEqual({ echo: 42, eol: 1, fn: 'banner', left: true });
  });
});
