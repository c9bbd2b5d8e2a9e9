// Mutation testing (`npm run mutate -- <files>`, scripts/mutate.mjs): Stryker plants one change at a time in the
// files given and runs the tests that cover each; a mutant no test kills is a behaviour nothing specifies.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.config.ts' },
  // Only the tests that ran the mutated code, per mutant.
  coverageAnalysis: 'perTest',
  // Two cores, and the tests start real servers and binaries: one mutant at a time keeps their timing honest.
  concurrency: 1,
  timeoutFactor: 3,
  timeoutMS: 20_000,
  // Module-level constants run once per process: each such mutant would need the whole suite.
  ignoreStatic: true,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
