// Every public error of poolscope, one class a file. Each has a stable `code` users can switch on.
export {
  FAILURE_REASONS,
  CONNECTION_ERROR_REASONS,
  type FailureReason,
  type ConnectionErrorReason,
} from './reasons.js';
export { PoolscopeError } from './poolscope-error.js';
export { PoolConfigError } from './pool-config-error.js';
export { PoolQueueFullError } from './pool-queue-full-error.js';
export { PoolAcquireTimeoutError } from './pool-acquire-timeout-error.js';
export { PoolTimeoutError, type TimeoutPhase } from './pool-timeout-error.js';
export { PoolConnectError } from './pool-connect-error.js';
export { PoolRequestError } from './pool-request-error.js';
export { PoolClosedError } from './pool-closed-error.js';
export { PoolOriginError } from './pool-origin-error.js';
export { PoolFleetUnavailableError } from './pool-fleet-unavailable-error.js';
export { PgAcquireTimeoutError } from './pg-acquire-timeout-error.js';
export { ConfigError, type ConfigIssue } from './config-error.js';
export { ServiceListenError } from './service-listen-error.js';
