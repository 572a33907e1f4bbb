import { randomBytes } from 'node:crypto';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Each file gets its own database; two files at a time suits a 2-core machine.
    maxWorkers: 2,
    reporters: ['default'],
    // npm test runs a representative part of the fault suite (3 trials per
    // kind); npm run test:faults runs all of it (20 trials per kind).
    // One secrets-at-rest key for every process of a test run (cores, workers,
    // CLIs and servers of one test share a database); test/secrets.test.ts
    // covers the data directory's key file and wrong keys.
    env: {
      FAULT_TRIALS: process.env.FAULT_TRIALS ?? '3',
      DEPLOY_SECRET_KEY: process.env.DEPLOY_SECRET_KEY ?? randomBytes(32).toString('base64'),
    },
  },
});
