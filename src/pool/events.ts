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
  connect: [event: { pool: string }];
  disconnect: [event: { pool: string }];
  'connection:error': [event: { pool: string; reason: ConnectionErrorReason }];
}
