import { createRequire } from 'node:module';
import { PoolConfigError } from './errors/index.js';

/** The SDKs poolscope wraps, and ioredis for fleet budgets: optional peer dependencies, installed by the app that uses them. */
export type Peer = '@supabase/supabase-js' | 'openai' | '@pinecone-database/pinecone' | 'pg' | 'ioredis';

// require(), not import(): it honours NODE_PATH, which the container image uses to find the SDKs it keeps apart.
const requirePeer = createRequire(import.meta.url);

/**
 * Loads an SDK the app installed, when the client that needs it is first built: an app that uses only some
 * upstreams installs only their SDKs. Throws `PoolConfigError` (option = the package) with the install line.
 */
export function loadPeer<T>(name: Peer, pool?: string): T {
  try {
    return requirePeer(name) as T;
  } catch (error) {
    const missing =
      (error as { code?: string }).code === 'MODULE_NOT_FOUND' &&
      String((error as Error).message).includes(`'${name}'`);
    const problem = missing
      ? `the optional peer dependency "${name}" is not installed: npm install ${name}`
      : `the optional peer dependency "${name}" is installed but failed to load`;
    throw new PoolConfigError(name, problem, pool, { cause: error });
  }
}
