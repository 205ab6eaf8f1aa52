import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The container image has its own step (vitest.container.config.ts, `npm run test:container`).
    exclude: [...configDefaults.exclude, 'test/container/**'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Each test file's temporary files go into a folder of its own, removed after it (temp-root.ts).
    setupFiles: ['test/helpers/temp-root.ts'],
    // Integration and e2e tests fork real processes and time real scaling periods on a 2-core
    // machine: run files one at a time so they do not steal each other's CPU.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
