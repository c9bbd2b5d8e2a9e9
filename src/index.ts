// The public API of poolscope, and nothing else.
export * from './errors/index.js';
export type { PoolOptions, PoolTimeouts, RetryOptions, RequestDescriptor, TlsOptions } from './pool/options.js';
export { POOL_DEFAULTS } from './pool/options.js';
export type { PoolStats } from './pool/stats.js';
