/**
 * What the tests that run poolscope as built (`dist/`) share: building it when it is stale, and an environment
 * free of the machine's own poolscope variables.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** What tsconfig.json compiles into dist. */
const SOURCES = ['src'];
/** Built by the same tsc run: the library entry point and the `npm start` binary. */
const ARTEFACTS = ['dist/index.js', 'dist/bin/poolscope.js'];

/** Newest modification time of a .ts file under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Runs `tsc -p tsconfig.json` (what `npm run build` runs) unless every artefact is newer than every source.
 * Returns whether it built. Another test may build into the same dist at the same time; tsc writes the same files.
 */
export async function buildIfStale(): Promise<boolean> {
  const sources = Math.max(...SOURCES.map((dir) => newestSource(join(REPO, dir))));
  const fresh = ARTEFACTS.every(
    (file) => existsSync(join(REPO, file)) && statSync(join(REPO, file)).mtimeMs >= sources,
  );
  if (fresh) return false;
  await promisify(execFile)(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], {
    cwd: REPO,
  });
  return true;
}

/** The environment without any poolscope variable of the machine running the tests (so: demo mode), plus `extra`. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (
      !/^(SUPABASE_|OPENAI_|PINECONE_|DATABASE_|POOL_PROFILE|POOLSCOPE_|MONITORING_TOKEN|METRICS_AUTH|HEALTH_|SHUTDOWN_|HOST$|PORT$|LOG_LEVEL)/.test(
        key,
      )
    ) {
      env[key] = value;
    }
  }
  return { ...env, ...extra };
}
