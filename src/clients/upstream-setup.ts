import type { PoolscopeMetrics } from '../metrics/families.js';
import type { PoolOptions } from '../pool/options.js';

/** How one client set builds an upstream's pools: where they record, what they are named, what overrides the environment. */
export interface UpstreamSetup {
  metrics: PoolscopeMetrics;
  /** Turns an upstream's pool name into this set's: `supabase` → `tenant_b_supabase` with `poolPrefix: 'tenant_b'`. */
  name(base: string): string;
  /** Options over the environment's for this upstream's pools (`createClients`' `tls` and `poolOptions`). */
  overrides?: Partial<PoolOptions>;
}

/** Builds `create()` once, on first call: an SDK is loaded only when its client is first used. */
export function once<T>(create: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: create() }).value;
}
