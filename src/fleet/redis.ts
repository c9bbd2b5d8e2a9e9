import { createRequire } from 'node:module';
import { loadPeer } from '../peers.js';

/**
 * What poolscope needs of a Redis client: the part of ioredis' `Redis` that redis-semaphore calls, and `status`
 * (`'ready'` when commands can be sent). Any ioredis client (also `Redis.Cluster`) fits.
 */
export interface FleetRedisClient {
  readonly status: string;
  eval(...args: never[]): Promise<unknown>;
  evalsha(...args: never[]): Promise<unknown>;
  zrem(...args: never[]): Promise<unknown>;
  get(...args: never[]): Promise<unknown>;
  set(...args: never[]): Promise<unknown>;
  publish(...args: never[]): Promise<unknown>;
}

/** A second connection, listening for releases: ioredis' `duplicate()` of the budget's client. */
export interface FleetSubscriber {
  readonly status: string;
  on(event: 'message', listener: (channel: string) => void): unknown;
  on(event: 'ready' | 'close' | 'error', listener: () => void): unknown;
  subscribe(channel: string): Promise<unknown>;
  connect(): Promise<void>;
  disconnect(): void;
}

/** The duplicate a client makes for listening, when it can (ioredis' `Redis` and `Cluster` can). */
export function subscriberOf(client: FleetRedisClient): FleetSubscriber | undefined {
  const duplicate = (client as { duplicate?: () => FleetSubscriber }).duplicate;
  return typeof duplicate === 'function' ? duplicate.call(client) : undefined;
}

/** Tells the fleet a lease is free; not waited for, and a failure only costs the waiters their poll interval. */
export function announceRelease(client: FleetRedisClient, channel: string): void {
  (client as unknown as { publish(channel: string, message: string): Promise<unknown> })
    .publish(channel, '')
    .catch(() => undefined);
}

/** A client poolscope opened from a URL, and so closes. */
export interface OwnedRedisClient extends FleetRedisClient {
  on(event: 'error' | 'ready', listener: (error?: unknown) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/** One lease on the fleet budget: redis-semaphore's `Semaphore`, of which poolscope drives renewal itself. */
export interface Lease {
  tryAcquire(signal?: AbortSignal): Promise<boolean>;
  release(): Promise<void>;
}

export interface LeaseOptions {
  lockTimeout: number;
  acquireTimeout: number;
  retryInterval: number;
  refreshInterval: number;
  onLockLost: () => void;
}

export type LeaseFactory = (client: FleetRedisClient, key: string, limit: number, options: LeaseOptions) => Lease;

const requireDependency = createRequire(import.meta.url);

/** redis-semaphore, loaded when the first fleet budget is made: apps without one never load it. */
export function leaseFactory(): LeaseFactory {
  const { Semaphore } = requireDependency('redis-semaphore') as {
    Semaphore: new (client: FleetRedisClient, key: string, limit: number, options: LeaseOptions) => Lease;
  };
  return (client, key, limit, options) => new Semaphore(client, key, limit, options);
}

/**
 * Renews a held lease for another `lockTimeout`: `false` when Redis no longer holds it (restarted, flushed, or the
 * lease expired). redis-semaphore's own refresh timer lets a Redis error escape as an unhandled rejection, which
 * ends the process (swarthy/redis-semaphore#199, closed as out of scope); its refresh step is called here
 * instead, where the error is caught and counted. `redis-semaphore` is pinned to a minor version for this.
 */
export function renewLease(lease: Lease): Promise<boolean> {
  return (lease as unknown as { _refresh(): Promise<boolean> })._refresh();
}

/**
 * An ioredis client for a fleet budget, made from its URL. Commands fail at once while disconnected (no offline
 * queue, no per-command retries, a command timeout), so a request falls back or is rejected now rather than after
 * ioredis' reconnect attempts; the client itself keeps reconnecting, so the budget comes back with Redis.
 */
export function connectRedis(url: string, pool: string, commandTimeoutMs: number): OwnedRedisClient {
  const Redis = loadPeer<new (url: string, options: Record<string, unknown>) => OwnedRedisClient>('ioredis', pool);
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2_000,
    retryStrategy: (times: number) => Math.min(times * 100, 1_000),
    connectionName: `poolscope:${pool}`,
  });
}
