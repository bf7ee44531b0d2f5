import { defineConfig } from 'vitest/config';

// One run over every workspace's tests. Workspace packages resolve to their TypeScript
// sources through the "source" export condition, so tests never need a build first.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: ['{apps,services,packages}/*/src/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['verbose'],
  },
});
