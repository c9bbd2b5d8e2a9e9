import type { RequestInit } from 'undici';

/** One header from any `HeadersInit` shape (Headers of either fetch, pairs, or a record). */
export function headerOf(
  headers: RequestInit['headers'] | globalThis.RequestInit['headers'],
  name: string,
): string | null {
  if (!headers) return null;
  if (typeof (headers as { get?: unknown }).get === 'function')
    return (headers as { get(n: string): string | null }).get(name);
  const wanted = name.toLowerCase();
  const pairs: Iterable<readonly [string, unknown]> = Array.isArray(headers)
    ? (headers as Array<[string, unknown]>)
    : Object.entries(headers as Record<string, unknown>);
  for (const [key, value] of pairs) if (key.toLowerCase() === wanted) return value == null ? null : String(value);
  return null;
}
