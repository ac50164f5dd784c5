import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The artifact test synthesizes and runs every bundle (1.5-3 min on 2 cores): its own script and
    // CI step, `npm run test:artifacts`.
    exclude: [...configDefaults.exclude, 'test/artifacts/**'],
    // Integration files each start DynamoDB Local (Java) and fauxqs; on two cores they run one at a time.
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
  },
});
