// The public API of poolscope, and nothing else: what README.md and docs/ document. etc/poolscope.api.md is its
// report (npm run api:check in npm test): a change to it is a change users see.

// Pools
export { createPool, UpstreamPool } from './pool/pool.js';
export type { FetchInit, FetchInput, PoolFetch, RequestLike, UndiciFetch } from './pool/pool.js';
export { POOL_DEFAULTS } from './pool/options.js';
export type {
  PoolOptions,
  PoolTimeouts,
  RetryOptions,
  CallerRetries,
  RequestDescriptor,
  TlsOptions,
  ResolvedPoolOptions,
} from './pool/options.js';
export type { FleetOptions, FleetLogger, FleetUnavailablePolicy, ResolvedFleetOptions } from './fleet/options.js';
export type { FleetRedisClient } from './fleet/redis.js';
export type { FleetLive } from './fleet/budget.js';
export { RETRY_REASONS, type RetryReason } from './pool/retry.js';
export type { Http2Live, LiveCounts } from './metrics/families.js';
export type { PoolStats } from './pool/stats.js';
export type { PoolEventMap, Outcome } from './pool/events.js';
export { createPgPool, createPgPoolSync, instrumentPgPool, PgPool, PG_POOL_DEFAULTS } from './postgres/index.js';
export type {
  PgInstrumentOptions,
  PgPoolEventMap,
  PgPoolLogger,
  PgPoolOptions,
  ResolvedPgPoolOptions,
} from './postgres/index.js';
export type { PgPoolSettings } from './postgres/options.js';

// Errors
export * from './errors/index.js';

// Metrics
export { registry, collectProcessMetrics, VERSION } from './metrics/registry.js';
export { shareMetricsWithPrimary, clusterMetricsHandler } from './metrics/cluster.js';

// The SDK clients, from the environment or in code
export {
  createClients,
  getClients,
  setClients,
  getSupabaseClient,
  getSupabaseAdminClient,
  getOpenAIClient,
  getPineconeClient,
  getPineconeIndex,
  startHealthChecks,
  DEFAULT_OPENAI_MODELS,
  // The pool managers and module exports apps migrate from
  DatabasePool,
  OpenAIPool,
  PineconePool,
  testConnection,
  checkDatabaseHealth,
  testOpenAIConnection,
  supabase,
  supabaseAdmin,
  openai,
} from './clients/index.js';
export type {
  Clients,
  CreateClientsOptions,
  SdkClients,
  UpstreamPoolOptions,
  HealthChecks,
  HealthChecksOptions,
  HealthLogger,
  DatabasePoolApi,
  OpenAIPoolApi,
} from './clients/index.js';
export type { SupabaseClientsHandle } from './clients/supabase.js';
export type { OpenAIClientHandle } from './clients/openai.js';
export type { PineconeClientHandle } from './clients/pinecone.js';
export type * from './clients/types.js';
export { createPostgresFacade, pgPoolOptionsFromConfig, type PostgresFacadeOptions } from './postgres/index.js';

// Configuration
export {
  loadConfig,
  describeConfig,
  redactUrl,
  POOL_PROFILES,
  supabasePoolOptions,
  pineconePoolOptions,
  openaiPoolOptions,
} from './config/index.js';
export type {
  Described,
  DescribedConfig,
  PoolProfileSizes,
  PoolscopeConfig,
  PoolscopeMode,
  PoolscopeModeSetting,
  PoolProfile,
  LogLevel,
  ServiceConfig,
  SupabaseConfig,
  PineconeConfig,
  OpenAIConfig,
  DatabaseConfig,
  FleetConfig,
} from './config/index.js';

// The monitoring surface and the standalone service
export { monitoringRouter, monitoringSource, renderOpenMetrics, FACADE_NAMES } from './http/index.js';
export type {
  MonitoringRouterOptions,
  MonitoringSource,
  ConnectionPoolsBody,
  PoolView,
  PoolHealthStatus,
  SystemHealthBody,
  AlertsBody,
  AlertView,
  ErrorBody,
  HttpErrorCode,
  SuccessBody,
  FacadeName,
  FacadeStatsView,
  HealthView,
} from './http/index.js';
export { startService, type RunningService, type StartServiceOptions } from './service/index.js';
export type { DemoOptions } from './demo/index.js';

// Operations assets: thresholds and the generated rules
export { THRESHOLDS, type Thresholds } from './health/thresholds.js';
export {
  alertRules,
  ALERT_NAMES,
  type AlertRule,
  type AlertName,
  type AlertRuleOptions,
  type Severity,
} from './health/alert-rules.js';
export { renderAlertRules } from './health/render-rules.js';
export { renderRecordingRules } from './health/recording-rules.js';
export { renderDashboard } from './health/dashboard.js';
export type { AssetOptions } from './health/asset-options.js';
export type {
  Alert,
  ComponentName,
  ComponentStatus,
  HealthInput,
  SystemHealth,
  RateLimitSnapshot,
  UpstreamHealth,
} from './health/evaluate.js';
