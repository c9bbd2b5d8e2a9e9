/** Timing, percentiles, memory and machine facts shared by the scenarios. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { createHistogram } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

export const now = () => performance.now();

/**
 * Latencies in a perf_hooks (HDR) histogram: nanosecond resolution, constant memory whatever the count.
 */
export function latencies() {
  const histogram = createHistogram({ lowest: 1, highest: 600e9, figures: 3 });
  return {
    /** @param {number} ms */
    record(ms) {
      histogram.record(Math.max(1, Math.round(ms * 1e6)));
    },
    get count() {
      return histogram.count;
    },
    summary() {
      const ms = (ns) => round(ns / 1e6, 3);
      if (histogram.count === 0) return { count: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, meanMs: 0, maxMs: 0 };
      return {
        count: histogram.count,
        p50Ms: ms(histogram.percentile(50)),
        p95Ms: ms(histogram.percentile(95)),
        p99Ms: ms(histogram.percentile(99)),
        meanMs: ms(histogram.mean),
        maxMs: ms(histogram.max),
      };
    },
  };
}

/** @param {number[]} values */
export function median(values) {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function round(value, digits = 2) {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** a / b, rounded; 0 when b is 0 (never NaN or Infinity in the results). */
export function ratio(a, b, digits = 2) {
  return b === 0 ? 0 : round(a / b, digits);
}

/** Full GC, then the process's memory (needs `--expose-gc`; without it, memory as it is). */
export function gcAndMeasure() {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, heapTotal, external, arrayBuffers };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function forEachConcurrently(count, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

export function machineInfo() {
  const cpus = os.cpus();
  const version = (path) => {
    try {
      return JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')).version;
    } catch {
      return 'unknown';
    }
  };
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    // not a git checkout
  }
  return {
    date: new Date().toISOString(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    availableParallelism: os.availableParallelism?.() ?? cpus.length,
    totalMemoryMB: Math.round(os.totalmem() / 2 ** 20),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    nodeBundledUndici: process.versions.undici ?? 'unknown',
    undici: version('../../node_modules/undici/package.json'),
    promClient: version('../../node_modules/prom-client/package.json'),
    openai: version('../../node_modules/openai/package.json'),
    supabaseJs: version('../../node_modules/@supabase/supabase-js/package.json'),
    poolscope: version('../../package.json'),
    commit,
    gcExposed: typeof globalThis.gc === 'function',
  };
}
