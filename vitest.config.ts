import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The container image has its own step (vitest.container.config.ts, `npm run test:container`).
    exclude: ['test/container/**', '**/node_modules/**'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Integration and e2e tests fork real processes and time real scaling periods on a 2-core
    // machine: run files one at a time so they do not steal each other's CPU.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
