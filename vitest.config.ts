import { defineConfig } from 'vitest/config';

// Four projects: unit (pure, fast), integration (real processes on loopback), adversary (hostile
// members against real processes), browser (Chromium).
// Integration and browser suites run files one at a time: this machine has 2 cores and the
// tests start real processes whose timing must not fight each other.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 60_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        // Hostile members against real processes (docs/security.md): one file at a time, like integration.
        test: {
          name: 'adversary',
          include: ['test/adversary/**/*.test.ts'],
          testTimeout: 240_000,
          hookTimeout: 240_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 240_000,
          hookTimeout: 240_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
