#!/usr/bin/env node
// Writes the operations assets from the compiled src/health (run `npm run build` first, or `npm run generate:assets`):
//   alerts/poolscope.rules.yml        alert rules           (render-rules.ts, alert-rules.ts, thresholds.ts)
//   prometheus/rules/recording.yml    recording rules       (recording-rules.ts)
//   grafana/dashboards/poolscope.json the Grafana dashboard (dashboard.ts, thresholds.ts)
// Flags (all three files take the same AssetOptions):
//   --selector MATCHERS         label matchers added to every poolscope_* selector, e.g. 'job="api", env="prod"'
//                               (default: none, every poolscope_* series)
//   --target-selector MATCHERS  matchers of the `up` series PoolscopeTargetDown and the dashboard read
//                               (default: job="poolscope", the shipped scrape job)
//   --runbook-base-url URL      every runbook_url (and the dashboard's Runbooks link) is under URL (default:
//                               docs/runbooks/ of package.json's `repository`, which is what the committed files use)
//   --out DIR                   write (or --check) the three files under DIR instead of the repository
//   --check                     exit 1 instead of writing when a file is out of date
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE =
  'usage: generate-ops-assets.mjs [--check] [--selector MATCHERS] [--target-selector MATCHERS] [--runbook-base-url URL] [--out DIR]';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let flags;
try {
  ({ values: flags } = parseArgs({
    options: {
      check: { type: 'boolean' },
      selector: { type: 'string' },
      'target-selector': { type: 'string' },
      'runbook-base-url': { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (error) {
  console.error(`${error.message}; ${USAGE}`);
  process.exit(2);
}

// tsc's rootDir is src, so src/health lands in dist/health (dist/src/health in builds before that).
const MODULES = ['render-rules.js', 'alert-rules.js', 'thresholds.js', 'recording-rules.js', 'dashboard.js'];
let health;
for (const dir of ['dist/health', 'dist/src/health'].map((path) => join(root, path))) {
  try {
    health = Object.assign({}, ...(await Promise.all(MODULES.map((file) => import(join(dir, file))))));
    break;
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(dir)) throw error;
  }
}
if (!health) {
  console.error('Cannot find the compiled src/health (dist/health/dashboard.js): run `npm run build` first.');
  process.exit(2);
}

const { repository } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
const options = {
  ...(flags.selector !== undefined && { selector: flags.selector }),
  ...(flags['target-selector'] !== undefined && { targetSelector: flags['target-selector'] }),
  runbookBaseUrl: flags['runbook-base-url'] ?? health.runbookBaseUrlFor(repository),
};
const out = flags.out ? resolve(flags.out) : root;
let assets;
try {
  assets = [
    [health.ALERT_RULES_FILE, health.renderAlertRules(health.THRESHOLDS, options)],
    [health.RECORDING_RULES_FILE, health.renderRecordingRules(options)],
    [health.DASHBOARD_FILE, health.renderDashboard(health.THRESHOLDS, options)],
  ];
} catch (error) {
  // A selector that is not label matchers, a runbook base that is not http(s): say which, without a stack.
  if (!(error instanceof TypeError)) throw error;
  console.error(error.message);
  process.exit(2);
}

let stale = 0;
for (const [path, text] of assets) {
  const target = join(out, path);
  if (flags.check) {
    const current = await readFile(target, 'utf8').catch(() => '');
    if (current === text) {
      console.log(`${target} is up to date`);
    } else {
      console.error(`${target} is out of date: run scripts/generate-ops-assets.mjs`);
      stale += 1;
    }
  } else {
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text);
    console.log(`wrote ${target}`);
  }
}
if (stale > 0) process.exit(1);
