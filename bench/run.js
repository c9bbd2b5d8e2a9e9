#!/usr/bin/env node
/**
 * `npm run bench`: builds, then runs every scenario in bench/scenarios/ in one process against upstream
 * simulators in a child process (127.0.0.1 only), and writes `latest.json` and `latest.md`.
 *
 *   node --expose-gc bench/run.js [--quick] [--out DIR] [--only reuse,burst,...] [--memory-requests N]
 *
 * --quick          tiny counts, a few seconds in all (what `npm test` runs: it checks the files, never timings)
 * --out DIR        where to write latest.json / latest.md (default bench/results, or bench/results/quick with --quick)
 * --only IDS       run only these scenarios (the results then hold only those)
 * --memory-requests N   requests for the memory scenario instead of the count that fits its time budget
 */
// First, before anything loads the `undici` package: keep Node's own global fetch dispatcher.
import { isNodesOwnAgent } from './lib/node-default-fetch.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent } from 'undici';
import { machineInfo, now, round } from './lib/measure.js';
import { headlineRows, renderMarkdown } from './lib/report.js';
import { startUpstreamHost } from './lib/upstreams.js';
import * as reuse from './scenarios/1-reuse.js';
import * as burst from './scenarios/2-burst.js';
import * as capped from './scenarios/3-capped.js';
import * as overhead from './scenarios/4-overhead.js';
import * as scrape from './scenarios/5-scrape.js';
import * as memory from './scenarios/6-memory.js';
import * as sdk from './scenarios/7-sdk.js';
import * as fleet from './scenarios/8-fleet.js';
import * as flat from './scenarios/9-flat.js';

/**
 * @typedef {object} Context
 * @property {boolean} quick
 * @property {Awaited<ReturnType<typeof startUpstreamHost>>} host
 * @property {(message: string) => void} log
 * @property {number | undefined} memoryRequests
 */

/** @type {Array<{ id: string, title: string, limitMs?: (ctx: unknown) => number, run: Function }>} */
const SCENARIOS = [reuse, burst, capped, overhead, scrape, memory, sdk, fleet, flat];
const here = dirname(fileURLToPath(import.meta.url));

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    only: { type: 'string' },
    'memory-requests': { type: 'string' },
  },
});
const quick = values.quick;
const outDir = resolve(values.out ?? join(here, 'results', quick ? 'quick' : ''));
const only = values.only ? new Set(values.only.split(',').map((s) => s.trim())) : undefined;
const memoryRequests = values['memory-requests'] ? Number(values['memory-requests']) : undefined;
if (only) {
  const unknown = [...only].filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length > 0)
    fail(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
}
if (memoryRequests !== undefined && !(Number.isInteger(memoryRequests) && memoryRequests > 0))
  fail('--memory-requests must be a positive integer');
if (!isNodesOwnAgent(Agent)) fail("Node's own fetch dispatcher could not be captured (was undici imported first?)");

/** A scenario that runs past this is reported as failed; each is bounded by its counts well before. */
const SCENARIO_LIMIT_MS = quick ? 60_000 : 240_000;

const log = (message) => process.stderr.write(`[bench] ${message}\n`);
const startedAt = new Date().toISOString();
const t0 = now();
const host = await startUpstreamHost();
/** @type {Context} */
const ctx = { quick, host, log, memoryRequests };
const scenarios = {};
let failed = 0;
try {
  for (const scenario of SCENARIOS) {
    if (only && !only.has(scenario.id)) continue;
    log(`${scenario.id}: ${scenario.title}`);
    const start = now();
    let timer;
    try {
      const limitMs = scenario.limitMs?.(ctx) ?? SCENARIO_LIMIT_MS;
      const limit = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`did not finish within ${limitMs / 1000} s`)), limitMs);
      });
      const result = await Promise.race([scenario.run(ctx), limit]);
      scenarios[scenario.id] = { title: scenario.title, durationMs: round(now() - start, 0), ...result };
      log(`${scenario.id}: done in ${round((now() - start) / 1000, 1)} s`);
    } catch (error) {
      failed++;
      scenarios[scenario.id] = {
        title: scenario.title,
        durationMs: round(now() - start, 0),
        error: String(error?.stack ?? error),
      };
      log(`${scenario.id}: FAILED ${error?.stack ?? error}`);
    } finally {
      clearTimeout(timer);
    }
  }
} finally {
  await host.close();
}

const results = {
  schema: 1,
  mode: quick ? 'quick' : 'full',
  startedAt,
  durationMs: round(now() - t0, 0),
  // How to get these results again: the plain full run is `npm run bench`, anything else its own command line.
  command:
    process.argv.length > 2 ? `node --expose-gc bench/run.js ${process.argv.slice(2).join(' ')}` : 'npm run bench',
  machine: machineInfo(),
  claims: headlineRows(scenarios).map(([claim, measured]) => ({ claim, measured })),
  scenarios,
};
await mkdir(outDir, { recursive: true });
const markdown = renderMarkdown(results);
await writeFile(join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
await writeFile(join(outDir, 'latest.md'), markdown);
process.stdout.write(markdown);
log(`wrote ${join(outDir, 'latest.json')} and latest.md in ${round((now() - t0) / 1000, 1)} s`);
// Sockets of abandoned variants (a failed scenario) must not keep the process alive.
process.exit(failed > 0 ? 1 : 0);

function fail(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}
