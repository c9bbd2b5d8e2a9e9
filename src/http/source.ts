import type { HealthChecks, HealthChecksOptions } from '../clients/health-checks.js';
import type { MonitoredPool, MonitoredUpstreams } from '../clients/types.js';
import type { HealthInput } from '../health/evaluate.js';

/**
 * What the router reads. `createClients(config)` returns a full `MonitoredUpstreams`; an app with its own
 * `createPool` pools passes `monitoringSource(pools)` instead and gets every route but the facades'.
 */
export type MonitoringSource = Pick<MonitoredUpstreams, 'healthInput'> &
  Partial<Pick<MonitoredUpstreams, 'config' | 'database' | 'supabase' | 'postgres' | 'openai' | 'pinecone'>> & {
    /** `createClients()`' health loop, for `monitoringRouter({ healthChecks })`. */
    startHealthChecks?: (options?: HealthChecksOptions) => HealthChecks;
  };

/** A source over plain pools: their stats, no health checks, no rate-limit readings. */
export function monitoringSource(pools: readonly MonitoredPool[] | (() => readonly MonitoredPool[])): MonitoringSource {
  const list = typeof pools === 'function' ? pools : () => pools;
  return {
    healthInput: (): HealthInput => ({ pools: list().map((pool) => pool.stats()), upstreams: {}, rateLimits: [] }),
  };
}
