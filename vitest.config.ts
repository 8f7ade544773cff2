import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Multi-process tests spawn their own workers; two files at a time fits a 2-core machine.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
