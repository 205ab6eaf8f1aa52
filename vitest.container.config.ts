import { defineConfig } from 'vitest/config';

// `npm run test:container`: the container image built and run with podman (test/container). Apart
// from `npm test` because it needs root and podman, and its first build the Debian mirror and npm.
export default defineConfig({
  test: {
    include: ['test/container/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 20 * 60_000,
    reporters: ['default'],
  },
});
