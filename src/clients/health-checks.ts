import { PoolConfigError } from '../errors/index.js';
import type { HealthCheckResult, MonitoredUpstreams } from './types.js';

/** Where the loop reports up/down transitions: pino's signature, so the service's logger fits as is. */
export interface HealthLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  debug?(fields: object, message: string): void;
}

export interface HealthChecksOptions {
  /** Time between the end of one round and the start of the next. Default: `HEALTH_INTERVAL_SECONDS` (15 s). */
  intervalMs?: number;
  /**
   * Spread of each wait, as a fraction of `intervalMs`: 0.1 waits 90–110% of it, so replicas started together
   * do not probe an upstream in step. Default 0.1; 0 for a fixed period.
   */
  jitter?: number;
  /** Bound on each check, checkout and connect included. Default 5000. */
  timeoutMs?: number;
  /** Transitions (reachable, down, recovered) are logged here once each. Default: none. */
  logger?: HealthLogger;
}

export interface HealthChecks {
  /** Resolves when the first round has finished (whatever it found). */
  readonly firstRound: Promise<void>;
  /** Stops scheduling rounds; resolves when a round in progress has finished. Idempotent. */
  stop(): Promise<void>;
}

export const HEALTH_CHECK_DEFAULTS = { intervalMs: 15_000, jitter: 0.1, timeoutMs: 5_000 } as const;

/**
 * Runs every upstream's health check now and then every `intervalMs` (± jitter) after the previous round ends
 * (rounds never overlap), so `poolscope_upstream_up` is there and current with no traffic and no one calling a
 * health route. The service runs one; an app runs one with `clients.startHealthChecks()` or
 * `monitoringRouter({ healthChecks: true })`.
 */
export function startHealthChecks(
  upstreams: Pick<MonitoredUpstreams, 'checkHealth'>,
  options: HealthChecksOptions = {},
): HealthChecks {
  const intervalMs = nonNegative(options.intervalMs ?? HEALTH_CHECK_DEFAULTS.intervalMs, 'intervalMs', 1);
  const jitter = nonNegative(options.jitter ?? HEALTH_CHECK_DEFAULTS.jitter, 'jitter', 0);
  if (jitter > 1) throw new PoolConfigError('healthChecks.jitter', 'must be between 0 and 1');
  const timeoutMs = nonNegative(options.timeoutMs ?? HEALTH_CHECK_DEFAULTS.timeoutMs, 'timeoutMs', 1);
  const { logger } = options;
  const previous = new Map<string, boolean>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const round = async (): Promise<void> => {
    let results: Record<string, HealthCheckResult>;
    try {
      results = await upstreams.checkHealth(timeoutMs);
    } catch (error) {
      if (!stopped) logger?.error({ err: error }, 'health checks failed to run');
      return;
    }
    // A round cut short by shutdown (its pools closed under it) says nothing about the upstreams.
    if (stopped) return;
    for (const [upstream, result] of Object.entries(results)) {
      const before = previous.get(upstream);
      previous.set(upstream, result.healthy);
      const fields = { upstream, status: result.status, latencyMs: result.latencyMs };
      if (before === result.healthy) logger?.debug?.(fields, result.message);
      else if (result.healthy)
        logger?.info(
          fields,
          before === undefined ? `upstream ${upstream} reachable` : `upstream ${upstream} recovered`,
        );
      else logger?.warn(fields, `upstream ${upstream} is down: ${result.message}`);
    }
  };

  const schedule = (): void => {
    if (stopped) return;
    const wait = intervalMs * (1 + jitter * (2 * Math.random() - 1));
    timer = setTimeout(() => {
      running = round().finally(schedule);
    }, wait);
    // The loop alone never keeps the process alive: an app that closes everything else exits.
    timer.unref();
  };

  running = round();
  const firstRound = running.then(() => undefined);
  void running.finally(schedule);

  let stopping: Promise<void> | undefined;
  return {
    firstRound,
    stop() {
      stopping ??= (async () => {
        stopped = true;
        clearTimeout(timer);
        await running;
      })();
      return stopping;
    },
  };
}

function nonNegative(value: number, option: string, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new PoolConfigError(`healthChecks.${option}`, `must be a number ≥ ${min}`);
  }
  return value;
}
