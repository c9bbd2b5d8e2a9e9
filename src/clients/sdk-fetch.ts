import { createRequire } from 'node:module';
import type { PoolFetch } from '../pool/pool.js';
export { headerOf } from '../pool/headers.js';

/**
 * The one cast between undici's fetch and the SDKs' `fetch` option: their `Response.body` stream types differ
 * in TypeScript only (both are WHATWG streams at run time).
 */
export function asSdkFetch(fetch: PoolFetch): typeof globalThis.fetch {
  return fetch as unknown as typeof globalThis.fetch;
}

const requirePeer = createRequire(import.meta.url);

/**
 * Loads an SDK the app installed (a peer dependency) when a client is first built, so apps that use only
 * some of the upstreams need not install the others.
 */
export function loadPeer<T>(name: '@supabase/supabase-js' | 'openai' | '@pinecone-database/pinecone' | 'pg'): T {
  try {
    return requirePeer(name) as T;
  } catch (error) {
    throw new Error(`poolscope needs the "${name}" package for this client: npm install ${name}`, { cause: error });
  }
}

/** The URL string of any fetch input, without parsing it. */
export function urlOf(input: string | URL | { url: string }): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}
