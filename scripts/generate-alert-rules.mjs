#!/usr/bin/env node
// Writes alerts/poolscope.rules.yml from the compiled src/health (run `npm run build` first).
//   --check                  exit 1 instead of writing when the file is out of date
//   --runbook-base-url URL   every runbook_url is <URL><AlertName>.md (default: docs/runbooks/ of package.json's
//                            `repository`, which is what the committed file uses)
//   --out PATH               write (or --check) PATH instead of alerts/poolscope.rules.yml
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let flags;
try {
  ({ values: flags } = parseArgs({
    options: { check: { type: 'boolean' }, 'runbook-base-url': { type: 'string' }, out: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  }));
} catch (error) {
  console.error(`${error.message}; usage: generate-alert-rules.mjs [--check] [--runbook-base-url URL] [--out PATH]`);
  process.exit(2);
}

// tsc's rootDir is the repo (src and test/upstreams both build), so src/health lands in dist/src/health.
const compiled = ['dist/src/health', 'dist/health'].map((path) => join(root, path));
let health;
for (const dir of compiled) {
  try {
    const [{ renderAlertRules }, { runbookBaseUrlFor }, { THRESHOLDS }] = await Promise.all(
      ['render-rules.js', 'alert-rules.js', 'thresholds.js'].map((file) => import(join(dir, file))),
    );
    health = { renderAlertRules, runbookBaseUrlFor, THRESHOLDS };
    break;
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(dir)) throw error;
  }
}
if (!health) {
  console.error('Cannot find the compiled src/health (dist/src/health/render-rules.js): run `npm run build` first.');
  process.exit(2);
}

const { repository } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
const runbookBaseUrl = flags['runbook-base-url'] ?? health.runbookBaseUrlFor(repository);
const target = flags.out ? resolve(flags.out) : join(root, 'alerts/poolscope.rules.yml');
const text = health.renderAlertRules(health.THRESHOLDS, { runbookBaseUrl });
if (flags.check) {
  const current = await readFile(target, 'utf8').catch(() => '');
  if (current !== text) {
    console.error(`${target} is out of date: run scripts/generate-alert-rules.mjs`);
    process.exit(1);
  }
  console.log(`${target} is up to date`);
} else {
  await writeFile(target, text);
  console.log(`wrote ${target}`);
}
