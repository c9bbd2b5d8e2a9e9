import { describe, expect, it } from 'vitest';
import { ModelLabels } from '../src/clients/model-labels.js';
import { openaiOperation } from '../src/clients/openai.js';
import { pineconeOperation } from '../src/clients/pinecone.js';
import { supabaseOperation } from '../src/clients/supabase.js';

const request = (method: string, url: string, headers: Record<string, string> = {}) => ({
  method,
  url: new URL(url),
  header: (name: string) => headers[name.toLowerCase()] ?? null,
});

describe('operation names are bounded and never carry ids', () => {
  const tables = new Set(['uploads']);
  it.each([
    ['GET', 'https://p.supabase.co/rest/v1/uploads?select=*&id=eq.42', {}, 'select:uploads'],
    ['GET', 'https://p.supabase.co/rest/v1/secret_table_123?id=eq.1', {}, 'select'],
    ['POST', 'https://p.supabase.co/rest/v1/uploads', {}, 'insert:uploads'],
    [
      'POST',
      'https://p.supabase.co/rest/v1/uploads',
      { prefer: 'resolution=merge-duplicates,return=representation' },
      'upsert:uploads',
    ],
    ['PATCH', 'https://p.supabase.co/rest/v1/users?id=eq.7', {}, 'update'],
    ['DELETE', 'https://p.supabase.co/rest/v1/uploads?id=eq.7', {}, 'delete:uploads'],
    ['POST', 'https://p.supabase.co/rest/v1/rpc/do_thing', {}, 'rpc'],
    ['POST', 'https://p.supabase.co/rest/v1/rpc/uploads', {}, 'rpc:uploads'],
    ['GET', 'https://p.supabase.co/rest/v1/', {}, 'openapi'],
    ['POST', 'https://p.supabase.co/auth/v1/token?grant_type=password', {}, 'auth'],
    ['GET', 'https://p.supabase.co/storage/v1/object/bucket/user-42/file.png', {}, 'storage'],
  ])('Supabase %s %s → %s', (method, url, headers, expected) => {
    expect(supabaseOperation(request(method, url, headers), tables)).toBe(expected);
  });

  it.each([
    ['https://api.openai.com/v1/chat/completions', 'chat.completions'],
    ['https://api.openai.com/v1/embeddings', 'embeddings'],
    ['https://api.openai.com/v1/responses/resp_abc123', 'responses'],
    ['https://api.openai.com/v1/models/gpt-4o', 'models'],
    ['https://api.openai.com/v1/audio/transcriptions', 'audio.transcriptions'],
    ['https://api.openai.com/v1/something/new', 'other'],
  ])('OpenAI %s → %s', (url, expected) => {
    expect(openaiOperation(url, '/v1')).toBe(expected);
  });

  it.each([
    ['POST', 'https://idx-abc.svc.pinecone.io/query', 'query'],
    ['POST', 'https://idx-abc.svc.pinecone.io/vectors/upsert', 'upsert'],
    ['GET', 'https://idx-abc.svc.pinecone.io/vectors/fetch?ids=a&ids=b', 'fetch'],
    ['POST', 'https://idx-abc.svc.pinecone.io/describe_index_stats', 'describe_index_stats'],
    ['GET', 'https://api.pinecone.io/indexes/my-index', 'describe_index'],
    ['GET', 'https://api.pinecone.io/indexes', 'list_indexes'],
    ['DELETE', 'https://api.pinecone.io/indexes/my-index', 'delete_index'],
  ])('Pinecone %s %s → %s', (method, url, expected) => {
    expect(pineconeOperation(request(method, url))).toBe(expected);
  });
});

describe('OpenAI model labels come from an allow-list of families', () => {
  const labels = new ModelLabels();
  it.each([
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['gpt-4o-2024-08-06', 'gpt-4o'],
    ['gpt-4.1-nano', 'gpt-4.1-nano'],
    ['text-embedding-3-small', 'text-embedding-3-small'],
    ['ft:gpt-4o-mini:acme:custom:abc123', 'other'],
    ['my-private-model', 'other'],
    [undefined, 'other'],
  ])('%s → %s', (model, expected) => {
    expect(labels.labelFor(model)).toBe(expected);
  });

  it('uses a configured list instead of the default', () => {
    expect(new ModelLabels(['llama-3']).labelFor('llama-3-70b')).toBe('llama-3');
    expect(new ModelLabels(['llama-3']).labelFor('gpt-4o')).toBe('other');
  });
});
