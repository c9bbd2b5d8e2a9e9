import type { ConnectionErrorReason, FailureReason } from '../errors/index.js';

export type Outcome = 'success' | 'error';

/** Typed events a pool emits for observers. Emitted only when someone listens, so they cost nothing otherwise. */
export interface PoolEventMap {
  'request:start': [event: { pool: string; operation: string }];
  'request:end': [
    event: {
      pool: string;
      operation: string;
      outcome: Outcome;
      reason: FailureReason | undefined;
      status: number | undefined;
      durationMs: number;
    },
  ];
  /** A request was refused before it ran: queue full, acquire timeout, or the pool closed. */
  reject: [event: { pool: string; operation: string; reason: FailureReason }];
  /**
   * Every response the upstream sent, before the pool decides to retry it: a 429 the pool retries is seen here
   * though the caller never gets it (rate-limit headers are read from these).
   */
  response: [event: { pool: string; status: number; headers: { get(name: string): string | null } }];
  connect: [event: { pool: string }];
  disconnect: [event: { pool: string }];
  'connection:error': [event: { pool: string; reason: ConnectionErrorReason }];
}
