#!/usr/bin/env node
// Writes alerts/poolscope.rules.yml from the compiled src/health (run `npm run build` first).
// `--check` exits 1 instead of writing when the committed file is out of date.
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let render;
try {
  ({ renderAlertRules: render } = await import(join(root, 'dist/health/render-rules.js')));
} catch (error) {
  console.error(`Cannot load dist/health/render-rules.js (${error.message}); run \`npm run build\` first.`);
  process.exit(2);
}
const target = join(root, 'alerts/poolscope.rules.yml');
const text = render();
if (process.argv.includes('--check')) {
  const current = await readFile(target, 'utf8').catch(() => '');
  if (current !== text) {
    console.error('alerts/poolscope.rules.yml is out of date: run scripts/generate-alert-rules.mjs');
    process.exit(1);
  }
  console.log('alerts/poolscope.rules.yml is up to date');
} else {
  await writeFile(target, text);
  console.log(`wrote ${target}`);
}
