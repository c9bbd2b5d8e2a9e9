export { createClients, type Clients, type CreateClientsOptions, type SdkClients } from './create-clients.js';
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
  openai,
  supabase,
  supabaseAdmin,
} from './singletons.js';
export { DEFAULT_OPENAI_MODELS, ModelLabels } from './model-labels.js';
export { openaiOperation } from './openai.js';
export { pineconeOperation } from './pinecone.js';
export { supabaseOperation } from './supabase.js';
export type * from './types.js';
