import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores on CI: run files in parallel, but not more workers than cores.
    maxWorkers: 2,
    // Memory-bound tests weigh the heap after a full collection.
    execArgv: ['--expose-gc'],
  },
})
