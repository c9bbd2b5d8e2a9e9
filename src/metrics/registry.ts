import { readFileSync } from 'node:fs';
import { Registry, collectDefaultMetrics } from 'prom-client';

/** poolscope's own registry: every pool records here unless given another. Serve it on `/metrics`. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** The package version, read once from package.json (same relative path from src/ and dist/). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
