import type { Logger } from 'pino';
import type { HealthCheckResult, MonitoredUpstreams } from '../clients/types.js';

export interface HealthLoop {
  /** Resolves when the first round has finished (success or not). */
  readonly firstRound: Promise<void>;
  /** Stops scheduling; waits for a round in progress. */
  stop(): Promise<void>;
}

/**
 * Runs every upstream's health check now and then every `intervalMs` after the previous round ends (rounds never
 * overlap), so the service probes its upstreams even with no app traffic. Logs each up/down transition once.
 */
export function startHealthLoop(upstreams: Pick<MonitoredUpstreams, 'checkHealth'>, intervalMs: number, logger: Logger): HealthLoop {
  const previous = new Map<string, boolean>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const round = async (): Promise<void> => {
    let results: Record<string, HealthCheckResult>;
    try {
      results = await upstreams.checkHealth();
    } catch (error) {
      if (!stopped) logger.error({ err: error }, 'health checks failed to run');
      return;
    }
    // A round cut short by shutdown (its pools closed under it) says nothing about the upstreams.
    if (stopped) return;
    for (const [upstream, result] of Object.entries(results)) {
      const before = previous.get(upstream);
      previous.set(upstream, result.healthy);
      const fields = { upstream, status: result.status, latencyMs: result.latencyMs };
      if (before === result.healthy) logger.debug(fields, result.message);
      else if (result.healthy) logger.info(fields, before === undefined ? `upstream ${upstream} reachable` : `upstream ${upstream} recovered`);
      else logger.warn(fields, `upstream ${upstream} is down: ${result.message}`);
    }
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = round().finally(schedule);
    }, intervalMs);
  };

  running = round();
  const firstRound = running.then(() => undefined);
  void running.finally(schedule);

  return {
    firstRound,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
