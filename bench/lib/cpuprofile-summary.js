#!/usr/bin/env node
/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function, and total (inclusive) time of
 * poolscope's own functions, with dist/ positions mapped back to src/*.ts through the emitted source maps.
 * With a second profile and the request count of each, prints the per-request difference (µs) instead:
 * where the extra time of A over B goes.
 *
 *   node bench/lib/cpuprofile-summary.js A.cpuprofile [--top 25]
 *   node bench/lib/cpuprofile-summary.js A.cpuprofile --requests 39000 --compare B.cpuprofile --compare-requests 48000
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '25' },
    requests: { type: 'string' },
    compare: { type: 'string' },
    'compare-requests': { type: 'string' },
  },
});
const [file] = positionals;
if (!file || (values.compare && !(values.requests && values['compare-requests']))) {
  process.stderr.write(
    'usage: cpuprofile-summary.js A.cpuprofile [--top N] [--requests nA --compare B.cpuprofile --compare-requests nB]\n',
  );
  process.exit(2);
}
const top = Number(values.top);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
process.stdout.on('error', () => process.exit(0)); // piped into head

const maps = new Map();
function sourceMapFor(path) {
  if (!maps.has(path)) {
    const mapPath = `${path}.map`;
    maps.set(path, existsSync(mapPath) ? new SourceMap(JSON.parse(readFileSync(mapPath, 'utf8'))) : null);
  }
  return maps.get(path);
}

/** `fetch src/pool/pool.ts:123` for our code (through the source map), `fn node_modules/undici/...:line` otherwise. */
function where(frame) {
  const url = frame.url;
  const name = frame.functionName || '(anonymous)';
  if (!url) return name;
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  let place = `${path.startsWith(ROOT) ? relative(ROOT, path) : path}:${frame.lineNumber + 1}`;
  if (path.startsWith(`${ROOT}dist/`)) {
    const entry = sourceMapFor(path)?.findEntry(frame.lineNumber, frame.columnNumber);
    if (entry?.originalSource)
      place = `${relative(ROOT, new URL(entry.originalSource, url).pathname)}:${entry.originalLine + 1}`;
  }
  return `${name} ${place}`;
}

function packageOf(key) {
  const match = key.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (match) return match[1];
  if (/ src\//.test(key)) return 'poolscope src/';
  if (key.includes(' node:')) return 'node internals';
  return key.split(' ')[0];
}

function summarise(path) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
  }
  const self = new Map();
  const inclusive = new Map();
  const packages = new Map();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    totalUs += us;
    const key = where(byId.get(id).callFrame);
    self.set(key, (self.get(key) ?? 0) + us);
    packages.set(packageOf(key), (packages.get(packageOf(key)) ?? 0) + us);
    const seen = new Set(); // inclusive: once per distinct frame on the stack
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const k = where(byId.get(at).callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  return { self, inclusive, packages, totalUs, busyUs: totalUs - (self.get('(idle)') ?? 0) };
}

const sorted = (map, by = (v) => v) => [...map].sort((a, b) => by(b[1]) - by(a[1])).slice(0, top);
const a = summarise(file);

if (!values.compare) {
  const pct = (us) => `${((us / a.totalUs) * 100).toFixed(1).padStart(5)}%`;
  const print = (title, entries) => {
    process.stdout.write(`\n${title}\n`);
    for (const [key, us] of entries)
      process.stdout.write(`${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}\n`);
  };
  process.stdout.write(`${file}: ${(a.totalUs / 1e6).toFixed(2)} s sampled, ${(a.busyUs / 1e6).toFixed(2)} s busy\n`);
  print(`Self time, top ${top}`, sorted(a.self));
  print('Total time of poolscope (src/) frames', sorted(new Map([...a.inclusive].filter(([k]) => / src\//.test(k)))));
  print('Self time by package', sorted(a.packages));
} else {
  const nA = Number(values.requests);
  const nB = Number(values['compare-requests']);
  const b = summarise(values.compare);
  const diff = (mapA, mapB) => {
    const keys = new Set([...mapA.keys(), ...mapB.keys()]);
    const out = new Map();
    for (const key of keys) out.set(key, { a: (mapA.get(key) ?? 0) / nA, b: (mapB.get(key) ?? 0) / nB });
    return out;
  };
  const row = ([key, { a: ua, b: ub }]) =>
    `${(ua - ub).toFixed(1).padStart(7)} µs  (${ua.toFixed(1).padStart(6)} vs ${ub.toFixed(1).padStart(6)})  ${key}\n`;
  const print = (title, map) => {
    process.stdout.write(`\n${title}\n`);
    for (const entry of sorted(map, (v) => v.a - v.b)) process.stdout.write(row(entry));
  };
  process.stdout.write(
    `busy CPU per request: A ${(a.busyUs / nA).toFixed(1)} µs, B ${(b.busyUs / nB).toFixed(1)} µs, A − B ${(a.busyUs / nA - b.busyUs / nB).toFixed(1)} µs\n`,
  );
  print('Per-request self time by package, A − B', diff(a.packages, b.packages));
  print(`Per-request self time by function, A − B, top ${top}`, diff(a.self, b.self));
  print(
    'Per-request total time of poolscope (src/) frames in A',
    diff(new Map([...a.inclusive].filter(([k]) => / src\//.test(k))), new Map()),
  );
}
