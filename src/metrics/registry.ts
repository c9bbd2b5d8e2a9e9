import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, collectDefaultMetrics } from 'prom-client';

/** poolscope's own registry: every pool records here unless given another. Serve it on `/metrics`. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });
// prom-client names three gauges like counters (`promtool check metrics` flags them); the same numbers are in
// nodejs_active_handles / _requests / _resources by `type`: sum() those.
for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
  registry.removeSingleMetric(name);
}

/** The package version, read once from the nearest package.json (src/ in tests, dist/src/ when built). */
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
