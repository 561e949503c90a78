import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources of sibling packages, not their builds.
    alias: {
      '@tether/protocol': src('protocol'),
      '@tether/auth': src('auth'),
      '@tether/webrtc': src('webrtc'),
      '@tether/server-sdk': src('server-sdk'),
      '@tether/server': src('server'),
      '@tether/client': src('client'),
      '@tether/testkit': src('testkit'),
    },
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'packages',
          include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'bench/**/*.test.ts'],
        },
      },
      {
        // Two Chromiums encoding video: run alone, after the rest, so neither side's timings suffer.
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
