import { Counter, Histogram, type Registry } from 'prom-client';
import { REQUEST_DURATION_BUCKETS } from './buckets.js';

/**
 * The families only database pools have (HikariCP's `usage` and leak count). Everything a database pool
 * shares with the HTTP pools (connections, acquire wait, request duration...) goes to `metricsFor(registry)`.
 */
export class PostgresMetrics {
  readonly connectionUsage: Histogram<'pool'>;
  readonly leaks: Counter<'pool'>;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.connectionUsage = new Histogram({
      name: 'poolscope_pool_connection_usage_seconds',
      help: 'Time a database client was held, from acquired to released back to the pool.',
      labelNames: ['pool'] as const,
      buckets: REQUEST_DURATION_BUCKETS,
      registers,
    });
    this.leaks = new Counter({
      name: 'poolscope_pool_leaks_total',
      help: 'Database clients held longer than leakDetectionThresholdMs (possible leaks), counted once per checkout.',
      labelNames: ['pool'] as const,
      registers,
    });
  }
}

const byRegistry = new WeakMap<Registry, PostgresMetrics>();

/** The database pool families of a registry, created on first use. */
export function postgresMetricsFor(registry: Registry): PostgresMetrics {
  let metrics = byRegistry.get(registry);
  if (!metrics) {
    metrics = new PostgresMetrics(registry);
    byRegistry.set(registry, metrics);
  }
  return metrics;
}
