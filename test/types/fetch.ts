// Compiled by `tsc` in `npm test` (test/types/tsconfig*.json), never run: pool.fetch must be a fetch to
// TypeScript wherever one is expected, with no cast, against the SDKs' own declared types.
import { Pinecone } from '@pinecone-database/pinecone';
import { createClient } from '@supabase/supabase-js';
import OpenAI from 'openai';
import { createPool, type PoolFetch } from 'poolscope';

const pool = createPool({ name: 'typed', origin: 'https://api.example.com' });

// Where the platform's fetch goes.
const platform: typeof globalThis.fetch = pool.fetch;
const typed: PoolFetch = pool.fetch;

// Each SDK's fetch option.
new OpenAI({ apiKey: 'sk-typed', fetch: pool.fetch });
createClient('https://project.supabase.co', 'anon-key', { global: { fetch: pool.fetch } });
new Pinecone({ apiKey: 'pc-typed', fetchApi: pool.fetch });

// What it returns is the platform's Response, read as one.
export async function read(): Promise<string> {
  const response: Response = await pool.fetch('https://api.example.com/items', {
    method: 'POST',
    body: JSON.stringify({ a: 1 }),
    headers: { 'content-type': 'application/json' },
  });
  const request = new Request('https://api.example.com/items');
  await pool.fetch(request, { signal: AbortSignal.timeout(1_000) });
  await pool.fetch(new URL('https://api.example.com/items'));
  return response.ok ? response.text() : String(response.status);
}

export { platform, typed };
