/** Every value of `poolscope_request_failures_total{reason}`: each operation of a pool exports all of them from 0. */
export const FAILURE_REASONS = [
  'timeout',
  'acquire_timeout',
  'queue_full',
  'connect_error',
  'http_4xx',
  'http_5xx',
  'rate_limited',
  'aborted',
  'fleet_unavailable',
  'other',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** Every value of `poolscope_pool_connection_errors_total{reason}`: each pool exports all of them from 0. */
export const CONNECTION_ERROR_REASONS = ['refused', 'timeout', 'reset', 'tls', 'dns', 'other'] as const;
export type ConnectionErrorReason = (typeof CONNECTION_ERROR_REASONS)[number];
