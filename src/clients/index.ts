export {
  createClients,
  type Clients,
  type CreateClientsOptions,
  type SdkClients,
  type UpstreamPoolOptions,
} from './create-clients.js';
export {
  HEALTH_CHECK_DEFAULTS,
  startHealthChecks,
  type HealthChecks,
  type HealthChecksOptions,
  type HealthLogger,
} from './health-checks.js';
export {
  DatabasePool,
  type DatabasePoolApi,
  type OpenAIPoolApi,
  OpenAIPool,
  PineconePool,
  getClients,
  setClients,
  getOpenAIClient,
  getPineconeClient,
  getPineconeIndex,
  getSupabaseAdminClient,
  getSupabaseClient,
  testConnection,
  checkDatabaseHealth,
  testOpenAIConnection,
  openai,
  supabase,
  supabaseAdmin,
} from './singletons.js';
export { DEFAULT_OPENAI_MODELS, ModelLabels } from './model-labels.js';
export { openaiOperation } from './openai.js';
export { pineconeOperation } from './pinecone.js';
export { supabaseOperation } from './supabase.js';
export type * from './types.js';
