export { headerOf } from '../pool/headers.js';

/** The URL string of any fetch input, without parsing it. */
export function urlOf(input: string | URL | { url: string }): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}
