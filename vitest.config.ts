import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources of sibling packages, not their builds.
    alias: {
      '@tether/protocol': src('protocol'),
      '@tether/server-sdk': src('server-sdk'),
      '@tether/server': src('server'),
      '@tether/client': src('client'),
      '@tether/testkit': src('testkit'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
