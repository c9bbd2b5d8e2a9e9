import { EventEmitter } from 'node:events';
import type { Registry } from 'prom-client';
import { metricsFor, type LiveCounts, type LivePoolGauges, type PoolscopeMetrics } from '../metrics/families.js';
import { FLEET_ERROR_REASONS, FleetBudget } from '../fleet/budget.js';
import type { ResolvedFleetOptions } from '../fleet/options.js';
import type { PoolEventMap } from './events.js';
import { OperationNames } from './operations.js';
import { PoolRecorder, type OperationRecorder } from './recorder.js';
import type { PoolStats } from './stats.js';

type HistogramChild = { observe(value: number): void };

/** What every pool is named and recorded by. */
export interface PoolBaseSettings {
  name: string;
  registry: Registry;
  operations: readonly string[];
  maxOperations: number;
  statsWindowSize: number;
  /** A fleet-wide budget in Redis on top of the pool's own bound. */
  fleet?: ResolvedFleetOptions | undefined;
}

/**
 * What every poolscope pool shares, whatever it pools (sockets to an HTTP origin, database clients): its one
 * place in the registry's live set, operation names, the recorder behind `stats()` and the metrics, the
 * acquire-wait histogram, and closing. A pool adds how it checks out and what `live()` reads — the way undici's
 * `Pool` is a thin class over its `PoolBase`.
 */
// `Record<keyof Events, any[]>`: the constraint Node's typed EventEmitter puts on an event map.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Node's own constraint, spelled as Node spells it
export abstract class PoolBase<Events extends PoolEventMap & Record<keyof Events, any[]> = PoolEventMap>
  extends EventEmitter<Events>
  implements LivePoolGauges
{
  readonly name: string;
  // State in #private fields behind protected getters: a pool stays small and acyclic when serialised.
  readonly #metrics: PoolscopeMetrics;
  readonly #recorder: PoolRecorder;
  readonly #acquireWait: HistogramChild;
  readonly #operations: OperationNames;
  readonly #fleet: FleetBudget | undefined;
  #closing: Promise<void> | undefined;

  /** Throws `PoolConfigError` naming `name` when a live pool of that name already records into the registry. */
  protected constructor(settings: PoolBaseSettings) {
    super();
    this.name = settings.name;
    this.#metrics = metricsFor(settings.registry);
    this.#metrics.register(this);
    this.#operations = new OperationNames(settings.operations, settings.maxOperations);
    this.#recorder = new PoolRecorder(
      this.name,
      this.#metrics,
      settings.statsWindowSize,
      (operation, outcome, reason, status, durationMs) => {
        const events = this as unknown as EventEmitter<PoolEventMap>;
        if (events.listenerCount('request:end') > 0)
          events.emit('request:end', { pool: this.name, operation, outcome, reason, status, durationMs });
      },
    );
    this.#acquireWait = this.#metrics.acquireWait.labels(this.name);
    try {
      this.#fleet = settings.fleet && this.#fleetBudget(settings.fleet);
    } catch (error) {
      this.unregister(); // ioredis not installed: the name stays free for a corrected retry
      throw error;
    }
  }

  /** The pool's fleet-wide budget, when it has one: a lease per request on top of the local bound. */
  protected get fleet(): FleetBudget | undefined {
    return this.#fleet;
  }

  #fleetBudget(options: ResolvedFleetOptions): FleetBudget {
    const metrics = this.#metrics;
    const wait = metrics.fleetAcquireWait.labels(this.name);
    // Every reason from 0, so `increase()` and alerts see the first failure.
    for (const reason of FLEET_ERROR_REASONS) metrics.fleetErrors.inc({ pool: this.name, reason }, 0);
    return new FleetBudget(this.name, options, {
      leaseWaited: (seconds) => wait.observe(seconds),
      failed: (reason) => metrics.fleetErrors.inc({ pool: this.name, reason }),
    });
  }

  /** The metric families of the pool's registry. */
  protected get metrics(): PoolscopeMetrics {
    return this.#metrics;
  }

  /** Records requests, connections and retries into the snapshot and the metrics. */
  protected get recorder(): PoolRecorder {
    return this.#recorder;
  }

  protected get acquireWait(): HistogramChild {
    return this.#acquireWait;
  }

  /** Set once `close()` has been called: the close in progress, or done. */
  protected get closing(): Promise<void> | undefined {
    return this.#closing;
  }

  protected set closing(closing: Promise<void> | undefined) {
    this.#closing = closing;
  }

  /** Live gauges, read at scrape time. */
  abstract live(): LiveCounts;

  /** A plain snapshot computed from live state now. */
  stats(): PoolStats {
    return this.#recorder.snapshot(this.live());
  }

  /** Resets the snapshot's counters and window. Prometheus counters are never reset: they only go up. */
  resetStats(): void {
    this.#recorder.reset();
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** The recorder of an operation, by the label `name` is recorded under (declared, discovered, or `other`). */
  protected operation(name: string): OperationRecorder {
    return this.#recorder.operation(this.#operations.labelFor(name));
  }

  /** Leaves the registry's live set: the gauges stop reporting this pool and its name is free again. */
  protected unregister(): void {
    this.#metrics.pools.delete(this);
  }
}
