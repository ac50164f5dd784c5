import path from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';
import base from '../../vitest.config.ts';

/** `npm run test:artifacts`: the bundles `cdk deploy` uploads, run as Lambda runs them (this folder). */
export default defineConfig({
  // A config file's folder is vitest's root by default; the tests' paths are the repository's.
  root: path.resolve(import.meta.dirname, '..', '..'),
  test: {
    ...base.test,
    include: ['test/artifacts/**/*.test.ts'],
    exclude: configDefaults.exclude,
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
