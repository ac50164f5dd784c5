import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

/** `npm run test:artifacts`: the bundles `cdk deploy` uploads, run as Lambda runs them (test/artifacts). */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/artifacts/**/*.test.ts'],
    exclude: configDefaults.exclude,
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
