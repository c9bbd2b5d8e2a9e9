import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * poolscope's own registry: every pool records here unless given another. Serve it on `/metrics`. Importing
 * poolscope puts nothing else in it: Node's process metrics are the app's choice (`collectProcessMetrics`).
 */
export const registry = new Registry();

const collecting = new WeakSet<Registry>();

/**
 * Starts prom-client's default Node.js metrics (`process_*`, `nodejs_*`) in `target`, once per registry:
 * the service does, and `monitoringRouter({ defaultMetrics: true })`. An app that already collects them
 * into its own registry leaves this off, or the merged output would carry them twice.
 */
export function collectProcessMetrics(target: Registry = registry): void {
  if (collecting.has(target)) return;
  collecting.add(target);
  // The app already collects them here itself: registering them again would throw.
  if (target.getSingleMetric('process_cpu_user_seconds_total') !== undefined) return;
  collectDefaultMetrics({ register: target });
  // prom-client names three gauges like counters (`promtool check metrics` flags them); the same numbers are in
  // nodejs_active_handles / _requests / _resources by `type`: sum() those.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    target.removeSingleMetric(name);
  }
}

/** The package version, read once from the nearest package.json (src/ in tests, dist/ when built). */
export const VERSION: string = readVersion();

function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++, dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'poolscope' && pkg.version) return pkg.version;
    }
  }
  return '0.0.0';
}
