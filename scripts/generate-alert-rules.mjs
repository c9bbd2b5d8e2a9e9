#!/usr/bin/env node
// Writes alerts/poolscope.rules.yml from the compiled src/health (run `npm run build` first).
// `--check` exits 1 instead of writing when the committed file is out of date.
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// tsc's rootDir is the repo (src and test/upstreams both build), so src/health lands in dist/src/health.
const compiled = ['dist/src/health/render-rules.js', 'dist/health/render-rules.js'].map((path) => join(root, path));
let render;
for (const path of compiled) {
  try {
    ({ renderAlertRules: render } = await import(path));
    break;
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(path)) throw error;
  }
}
if (!render) {
  console.error('Cannot find the compiled src/health (dist/src/health/render-rules.js): run `npm run build` first.');
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
