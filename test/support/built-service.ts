/**
 * What the tests that run poolscope as built (`dist/`) share: building it when it is stale, and an environment
 * free of the machine's own poolscope variables.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Builds dist/ unless it is newer than every source (scripts/build-if-stale.mjs, `npm start`'s prestart too).
 * Returns whether it built. Another test may build into the same dist at the same time; tsc writes the same files.
 */
export async function buildIfStale(): Promise<boolean> {
  const { stdout } = await promisify(execFile)(process.execPath, ['scripts/build-if-stale.mjs'], { cwd: REPO });
  return stdout.trim().endsWith('built');
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
