import { defineConfig } from 'vitest/config';

// The process-warning setup on its own, over files that misbehave on purpose (test/process-warnings.test.ts).
export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['*.spec.ts'],
    setupFiles: ['../process-warnings.setup.ts'],
    pool: 'forks',
  },
});
