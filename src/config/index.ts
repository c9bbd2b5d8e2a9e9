export { loadConfig } from './load.js';
export { describeConfig, redactUrl, type Described, type DescribedConfig } from './redact.js';
export { POOL_PROFILES, type PoolProfileSizes } from './defaults.js';
export { supabasePoolOptions, pineconePoolOptions, openaiPoolOptions } from './pool-options.js';
export type {
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
} from './types.js';
