#!/usr/bin/env node
// `npm run mutate -- <files or globs>`: a Stryker mutation pass over those files (stryker.config.mjs), e.g.
//   npm run mutate -- src/http/auth.ts src/health/evaluate.ts
// Slow (minutes a file: every mutant runs the tests that cover it), so never part of `npm test`. When to run it
// and the last scores: CONTRIBUTING.md. The report is reports/mutation/mutation.json.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const files = process.argv.slice(2);
if (files.length === 0 || files.some((file) => file.startsWith('-'))) {
  process.stderr.write('usage: npm run mutate -- <file or glob>... (e.g. src/http/auth.ts)\n');
  process.exit(2);
}
// The package exports no bin path: found from its package.json.
const core = dirname(createRequire(import.meta.url).resolve('@stryker-mutator/core/package.json'));
const stryker = join(core, 'bin', 'stryker.js');
const { status } = spawnSync(process.execPath, [stryker, 'run', 'stryker.config.mjs', '--mutate', files.join(',')], {
  stdio: 'inherit',
});
process.exit(status ?? 1);
