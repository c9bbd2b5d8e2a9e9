/**
 * One zod schema per environment variable. Every message is our own, in the user's words, and none
 * includes the value: values can be secrets. Inputs arrive trimmed, with empty strings already unset.
 */
import { z } from 'zod';
import { normalizeRunbookBaseUrl } from '../health/alert-rules.js';
import type { LogLevel, PoolProfile, PoolscopeModeSetting } from './types.js';

/** Node timers (and so undici's) overflow beyond 2^31-1 ms, so no duration may exceed it. */
const MAX_TIMER_MS = 2_147_483_647;
const MAX_INTEGER = 2_147_483_647;

export const LOG_LEVELS = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
] as const satisfies readonly LogLevel[];
export const POOL_PROFILE_NAMES = ['dev', 'prod-low', 'prod-high'] as const satisfies readonly PoolProfile[];
export const MODE_SETTINGS = ['auto', 'demo', 'live'] as const satisfies readonly PoolscopeModeSetting[];
export const FLEET_UNAVAILABLE_POLICIES = ['local', 'reject'] as const;

const MAX_LIST_NAME_LENGTH = 64;

/** A schema that passes a string through, or reports the problem `problemOf` finds. */
function text(problemOf: (value: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const problem = problemOf(value);
    if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem, input: value });
  });
}

function integer(min: 0 | 1, problem: string, max = MAX_INTEGER, tooLarge = `must be at most ${max}`) {
  return z
    .string()
    .regex(/^\d+$/, { error: problem })
    .transform(Number)
    .refine((n) => n >= min, { error: problem, abort: true })
    .refine((n) => n <= max, { error: tooLarge });
}

const count = () => integer(1, 'must be a positive integer');
const countOrZero = () => integer(0, 'must be an integer, 0 or more');
const milliseconds = () =>
  integer(
    0,
    'must be a whole number of milliseconds, 0 or more',
    MAX_TIMER_MS,
    `must be at most ${MAX_TIMER_MS} ms (about 24.8 days)`,
  );

/** Decimals allowed (`30.0`), like the reference design's Python floats; at least 1 ms. */
function seconds() {
  const problem = 'must be a positive number of seconds, such as 30 or 30.0';
  return z
    .string()
    .regex(/^(?:\d+(?:\.\d*)?|\.\d+)$/, { error: problem })
    .transform(Number)
    .refine((s) => Math.round(s * 1000) >= 1, { error: problem, abort: true })
    .refine((s) => Math.round(s * 1000) <= MAX_TIMER_MS, {
      error: `must be at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds (about 24.8 days)`,
    });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z
    .string()
    .toLowerCase()
    .pipe(z.enum(values, { error: `must be one of: ${values.join(', ')}` }));
}

const WHITESPACE = /\s/;

const secret = () => text((value) => (WHITESPACE.test(value) ? 'must not contain spaces or line breaks' : undefined));

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** An http(s) base URL; a path is fine (`/v1`), credentials, query and fragment are not. */
function httpUrl(example: string) {
  return text((value) => {
    const url = parseUrl(value);
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      return `must be an http(s) URL such as ${example}`;
    }
    if (url.username || url.password) return 'must not contain a username or password; keys have their own variables';
    if (url.search || url.hash) return 'must not have a query string or fragment';
    return undefined;
  });
}

const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Pinecone hosts come bare (`my-index-abc.svc.pinecone.io`) or as a URL; either way only an origin. */
function host(example: string) {
  return text((value) => {
    const url = parseUrl(HAS_SCHEME.test(value) ? value : `https://${value}`);
    const problem = `must be a host name such as ${example}, or an http(s) URL of one`;
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '')
      return problem;
    if (url.username || url.password) return 'must not contain a username or password';
    if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
      return 'must be a host only (no path, query or fragment)';
    }
    return undefined;
  });
}

function postgresUrl() {
  return text((value) => {
    const url = parseUrl(value);
    if (url === undefined) {
      return 'must be a postgres:// or postgresql:// URL (percent-encode special characters in the password)';
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
      return 'must start with postgres:// or postgresql://';
    return undefined;
  });
}

/** Comma list of label names; blanks between commas are dropped, duplicates kept once. */
function nameList() {
  const problem = `must be a comma-separated list of names without spaces, each at most ${MAX_LIST_NAME_LENGTH} characters`;
  return z
    .string()
    .transform((value) => [
      ...new Set(
        value
          .split(',')
          .map((name) => name.trim())
          .filter((name) => name !== ''),
      ),
    ])
    .refine((names) => names.length > 0, { error: 'must name at least one entry', abort: true })
    .refine((names) => names.every((name) => name.length <= MAX_LIST_NAME_LENGTH && !WHITESPACE.test(name)), {
      error: problem,
    });
}

/** A redis:// or rediss:// URL; it may carry a password, so it is a secret of the config. */
function redisUrl() {
  return text((value) => {
    const url = parseUrl(value);
    if (url === undefined || (url.protocol !== 'redis:' && url.protocol !== 'rediss:')) {
      return 'must be a redis:// or rediss:// URL such as redis://redis:6379/0 (percent-encode special characters in the password)';
    }
    return url.hostname === '' ? 'must name a host' : undefined;
  });
}

/** At least 30 ms: held leases are renewed every third of it. */
const leaseMs = () =>
  integer(
    1,
    'must be a whole number of milliseconds, 30 or more',
    MAX_TIMER_MS,
    `must be at most ${MAX_TIMER_MS} ms (about 24.8 days)`,
  ).refine((n) => n >= 30, { error: 'must be a whole number of milliseconds, 30 or more' });

const boolean = () =>
  z
    .string()
    .toLowerCase()
    .pipe(z.enum(['true', 'false'], { error: 'must be true or false' }))
    .transform((value) => value === 'true');

/** Every variable poolscope reads. Order is the order issues are reported in. */
export const ENV_SCHEMA = {
  SUPABASE_URL: httpUrl('https://<project>.supabase.co'),
  SUPABASE_ANON_KEY: secret(),
  SUPABASE_SERVICE_ROLE_KEY: secret(),
  SUPABASE_POOL_SIZE: count(),
  SUPABASE_MAX_KEEPALIVE: countOrZero(),
  SUPABASE_TIMEOUT: seconds(),
  SUPABASE_TABLES: nameList(),
  SUPABASE_FLEET_MAX_CONCURRENT: count(),

  PINECONE_API_KEY: secret(),
  PINECONE_INDEX_NAME: text((value) => (WHITESPACE.test(value) ? 'must not contain spaces' : undefined)),
  PINECONE_INDEX_HOST: host('my-index-abc123.svc.us-east1-gcp.pinecone.io'),
  PINECONE_CONTROLLER_HOST: host('api.pinecone.io'),
  PINECONE_POOL_SIZE: count(),
  PINECONE_POOL_MAXSIZE: count(),
  PINECONE_POOL_TIMEOUT: seconds(),
  PINECONE_FLEET_MAX_CONCURRENT: count(),

  OPENAI_API_KEY: secret(),
  OPENAI_BASE_URL: httpUrl('https://api.openai.com/v1'),
  OPENAI_MAX_CONCURRENT: count(),
  OPENAI_POOL_SIZE: count(),
  OPENAI_TIMEOUT: seconds(),
  OPENAI_MAX_RETRIES: countOrZero(),
  OPENAI_MODELS: nameList(),
  OPENAI_FLEET_MAX_CONCURRENT: count(),
  OPENAI_FLEET_TOKENS_PER_MINUTE: count(),

  DATABASE_URL: postgresUrl(),
  DATABASE_POOL_SIZE: count(),
  DATABASE_POOL_MIN: countOrZero(),
  DATABASE_IDLE_TIMEOUT_MS: milliseconds(),
  DATABASE_CONNECTION_TIMEOUT_MS: milliseconds(),
  DATABASE_STATEMENT_TIMEOUT_MS: milliseconds(),
  DATABASE_MAX_LIFETIME_MS: milliseconds(),
  DATABASE_KEEPALIVE_INTERVAL_MS: milliseconds(),
  DATABASE_FLEET_MAX_CONCURRENT: count(),

  FLEET_REDIS_URL: redisUrl(),
  FLEET_LEASE_MS: leaseMs(),
  FLEET_ON_UNAVAILABLE: oneOf(FLEET_UNAVAILABLE_POLICIES),

  HOST: text((value) =>
    WHITESPACE.test(value) || value.includes('/') ? 'must be a host name or IP address' : undefined,
  ),
  PORT: integer(0, 'must be an integer port from 0 to 65535', 65_535, 'must be an integer port from 0 to 65535'),
  MONITORING_TOKEN: text((value) =>
    value.length < 16
      ? 'must be at least 16 characters long'
      : WHITESPACE.test(value)
        ? 'must not contain spaces or line breaks'
        : undefined,
  ),
  METRICS_AUTH: boolean(),
  RUNBOOK_BASE_URL: text((value) => {
    try {
      normalizeRunbookBaseUrl(value);
      return undefined;
    } catch {
      return 'must be an absolute http(s) URL, the folder holding <AlertName>.md';
    }
  }).transform(normalizeRunbookBaseUrl),
  HEALTH_INTERVAL_SECONDS: seconds(),
  LOG_LEVEL: oneOf(LOG_LEVELS),
  POOLSCOPE_MODE: oneOf(MODE_SETTINGS),
  SHUTDOWN_TIMEOUT_MS: milliseconds(),
  POOL_PROFILE: oneOf(POOL_PROFILE_NAMES),
} as const;

export type EnvVariable = keyof typeof ENV_SCHEMA;
/** The parsed value of each variable, absent when unset or invalid. */
export type EnvValues = { [K in EnvVariable]?: z.output<(typeof ENV_SCHEMA)[K]> };
