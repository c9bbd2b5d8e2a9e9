import type { PoolFetch } from '../pool/pool.js';
export { headerOf } from '../pool/headers.js';

/**
 * The one cast between undici's fetch and the SDKs' `fetch` option: their `Response.body` stream types differ
 * in TypeScript only (both are WHATWG streams at run time).
 */
export function asSdkFetch(fetch: PoolFetch): typeof globalThis.fetch {
  return fetch as unknown as typeof globalThis.fetch;
}

/** The URL string of any fetch input, without parsing it. */
export function urlOf(input: string | URL | { url: string }): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}
