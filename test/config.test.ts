import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  describeConfig,
  loadConfig,
  openaiPoolOptions,
  pineconePoolOptions,
  POOL_PROFILES,
  redactUrl,
  supabasePoolOptions,
  type PoolscopeConfig,
} from '../src/config/index.js';
import { ConfigError, PoolConfigError, PoolscopeError } from '../src/errors/index.js';
import { ENV_SCHEMA } from '../src/config/schema.js';
import { resolvePoolOptions } from '../src/pool/options.js';

type Env = Record<string, string | undefined>;

const SUPABASE: Env = {
  SUPABASE_URL: 'https://abcd.supabase.co',
  SUPABASE_SERVICE_ROLE_KEY: 'service-role-secret-jwt',
};
const PINECONE: Env = {
  PINECONE_API_KEY: 'pc-secret-key',
  PINECONE_INDEX_HOST: 'docs-abc123.svc.us-east1-gcp.pinecone.io',
};
const OPENAI: Env = { OPENAI_API_KEY: 'sk-proj-supersecretvalue' };
const DATABASE_PASSWORD = 'Tr0ub4dor&3';
const DATABASE: Env = { DATABASE_URL: `postgres://app:${encodeURIComponent(DATABASE_PASSWORD)}@db.internal:5432/app` };

/** The ConfigError `loadConfig(env)` throws; fails the test if it does not throw one. */
function configError(env: Env): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

function problemOf(error: ConfigError, variable: string): string | undefined {
  return error.issues.find((issue) => issue.variable === variable)?.problem;
}

describe('loadConfig: defaults and mode', () => {
  it('demo mode when nothing is configured, with the service defaults and no upstream sections', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      mode: 'demo',
      service: {
        host: '127.0.0.1',
        port: 9464,
        metricsAuth: false,
        healthIntervalSeconds: 15,
        logLevel: 'info',
        shutdownTimeoutMs: 10_000,
      },
    });
  });

  it('reads process.env when called without an argument', () => {
    const saved = process.env;
    process.env = { POOL_PROFILE: 'dev', PORT: '9999' };
    try {
      const config = loadConfig();
      expect([config.profile, config.service.port]).toEqual(['dev', 9999]);
    } finally {
      process.env = saved;
    }
  });

  it('live mode as soon as one upstream is configured, and only that section is present', () => {
    const config = loadConfig({ ...OPENAI });
    expect(config.mode).toBe('live');
    expect(Object.keys(config).sort()).toEqual(['mode', 'openai', 'service']);
  });

  it('POOLSCOPE_MODE=demo stays demo when nothing is configured', () => {
    expect(loadConfig({ POOLSCOPE_MODE: 'demo' }).mode).toBe('demo');
  });

  it('POOLSCOPE_MODE=demo wins over configured upstreams, which are still validated', () => {
    expect(loadConfig({ POOLSCOPE_MODE: 'demo', ...SUPABASE }).mode).toBe('demo');
    expect(
      problemOf(configError({ POOLSCOPE_MODE: 'demo', ...SUPABASE, SUPABASE_POOL_SIZE: 'many' }), 'SUPABASE_POOL_SIZE'),
    ).toBeDefined();
  });

  it('POOLSCOPE_MODE=live with nothing configured is an error naming POOLSCOPE_MODE', () => {
    expect(problemOf(configError({ POOLSCOPE_MODE: 'live' }), 'POOLSCOPE_MODE')).toMatch(/no upstream is configured/);
  });

  it('treats empty and blank strings as unset', () => {
    const config = loadConfig({ SUPABASE_URL: '', SUPABASE_POOL_SIZE: '  ', OPENAI_API_KEY: '', PORT: '' });
    expect(config.mode).toBe('demo');
    expect(config.service.port).toBe(9464);
  });

  it('fills every Supabase, Pinecone, OpenAI and Postgres default from the reference designs', () => {
    const config = loadConfig({ ...SUPABASE, ...PINECONE, ...OPENAI, ...DATABASE });
    expect(config.supabase).toEqual({
      url: 'https://abcd.supabase.co',
      poolSize: 20,
      maxKeepAlive: 50,
      timeoutSeconds: 30,
      tables: [],
    });
    expect(config.pinecone).toEqual({
      indexHost: 'docs-abc123.svc.us-east1-gcp.pinecone.io',
      poolSize: 10,
      poolMaxSize: 20,
      timeoutSeconds: 30,
    });
    expect(config.openai).toEqual({
      baseURL: 'https://api.openai.com/v1',
      maxConcurrent: 10,
      poolSize: 10,
      timeoutSeconds: 60,
      maxRetries: 3,
    });
    expect(config.database).toEqual({
      poolSize: 10,
      min: 0,
      idleTimeoutMs: 10_000,
      connectionTimeoutMs: 5_000,
      statementTimeoutMs: 30_000,
      maxLifetimeMs: 1_800_000,
      keepAliveIntervalMs: 120_000,
    });
  });

  it('OPENAI_POOL_SIZE defaults to OPENAI_MAX_CONCURRENT', () => {
    expect(loadConfig({ ...OPENAI, OPENAI_MAX_CONCURRENT: '25' }).openai?.poolSize).toBe(25);
    expect(loadConfig({ ...OPENAI, OPENAI_MAX_CONCURRENT: '25', OPENAI_POOL_SIZE: '5' }).openai?.poolSize).toBe(5);
  });

  it('accepts seconds with decimals such as SUPABASE_TIMEOUT=30.0 and PINECONE_POOL_TIMEOUT=2.5', () => {
    const config = loadConfig({ ...SUPABASE, ...PINECONE, SUPABASE_TIMEOUT: '30.0', PINECONE_POOL_TIMEOUT: '2.5' });
    expect(config.supabase?.timeoutSeconds).toBe(30);
    expect(config.pinecone?.timeoutSeconds).toBe(2.5);
  });

  it('parses SUPABASE_TABLES and OPENAI_MODELS as trimmed comma lists without duplicates', () => {
    const config = loadConfig({
      ...SUPABASE,
      ...OPENAI,
      SUPABASE_TABLES: 'documents, chunks,,documents ',
      OPENAI_MODELS: 'gpt-4o,text-embedding-3-small',
    });
    expect(config.supabase?.tables).toEqual(['documents', 'chunks']);
    expect(config.openai?.models).toEqual(['gpt-4o', 'text-embedding-3-small']);
  });

  it('reads the service variables', () => {
    const service = loadConfig({
      HOST: '0.0.0.0',
      PORT: '0',
      MONITORING_TOKEN: 'a-token-of-sixteen+',
      METRICS_AUTH: 'TRUE',
      HEALTH_INTERVAL_SECONDS: '7.5',
      LOG_LEVEL: 'Debug',
      SHUTDOWN_TIMEOUT_MS: '2500',
      RUNBOOK_BASE_URL: 'https://wiki.example.com/runbooks',
    }).service;
    expect(service).toEqual({
      host: '0.0.0.0',
      port: 0,
      metricsAuth: true,
      runbookBaseUrl: 'https://wiki.example.com/runbooks/',
      healthIntervalSeconds: 7.5,
      logLevel: 'debug',
      shutdownTimeoutMs: 2500,
    });
    expect(service.monitoringToken).toBe('a-token-of-sixteen+');
  });
});

describe('loadConfig: POOL_PROFILE presets', () => {
  const sizes = (config: PoolscopeConfig) => [
    config.supabase?.poolSize,
    config.supabase?.maxKeepAlive,
    config.pinecone?.poolSize,
    config.pinecone?.poolMaxSize,
  ];

  it.each([
    ['dev', [10, 20, 5, 10]],
    ['prod-low', [20, 50, 10, 20]],
    ['prod-high', [50, 100, 20, 40]],
  ])(
    'POOL_PROFILE=%s gives %j for SUPABASE_POOL_SIZE/MAX_KEEPALIVE and PINECONE_POOL_SIZE/MAXSIZE',
    (profile, expected) => {
      const config = loadConfig({ ...SUPABASE, ...PINECONE, POOL_PROFILE: profile });
      expect(config.profile).toBe(profile);
      expect(sizes(config)).toEqual(expected);
    },
  );

  it('POOL_PROFILE=prod-high gives 50/100/20/40 and an explicit SUPABASE_POOL_SIZE wins', () => {
    const config = loadConfig({ ...SUPABASE, ...PINECONE, POOL_PROFILE: 'prod-high', SUPABASE_POOL_SIZE: '35' });
    expect(sizes(config)).toEqual([35, 100, 20, 40]);
  });

  it('exports the presets with the reference design numbers', () => {
    expect(POOL_PROFILES['prod-high']).toEqual({
      SUPABASE_POOL_SIZE: 50,
      SUPABASE_MAX_KEEPALIVE: 100,
      PINECONE_POOL_SIZE: 20,
      PINECONE_POOL_MAXSIZE: 40,
    });
  });

  it('an unknown POOL_PROFILE names POOL_PROFILE and the allowed values', () => {
    expect(problemOf(configError({ POOL_PROFILE: 'huge' }), 'POOL_PROFILE')).toBe(
      'must be one of: dev, prod-low, prod-high',
    );
  });
});

describe('loadConfig: one ConfigError listing every bad variable', () => {
  it('rejects SUPABASE_POOL_SIZE=abc and PINECONE_POOL_SIZE=-1 in one error naming both', () => {
    const error = configError({ SUPABASE_POOL_SIZE: 'abc', PINECONE_POOL_SIZE: '-1' });
    expect(error.issues).toEqual([
      { variable: 'SUPABASE_POOL_SIZE', problem: 'must be a positive integer' },
      { variable: 'PINECONE_POOL_SIZE', problem: 'must be a positive integer' },
    ]);
    expect(error.message.split('\n')).toEqual([
      'Invalid environment configuration (2 problems):',
      '  SUPABASE_POOL_SIZE: must be a positive integer',
      '  PINECONE_POOL_SIZE: must be a positive integer',
    ]);
  });

  it('is a PoolscopeError with code POOLSCOPE_ENV_INVALID and name ConfigError', () => {
    const error = configError({ PORT: 'x' });
    expect(error).toBeInstanceOf(PoolscopeError);
    expect(error.code).toBe('POOLSCOPE_ENV_INVALID');
    expect(error.name).toBe('ConfigError');
    expect(error.pool).toBeUndefined();
  });

  it.each(['abc', '-3', '1.5', '0', '1e3', ' 12abc'])('rejects %j as a pool size', (value) => {
    expect(problemOf(configError({ DATABASE_POOL_SIZE: value }), 'DATABASE_POOL_SIZE')).toBe(
      'must be a positive integer',
    );
  });

  it('accepts 0 for the counts that may be 0 (keep-alive, pool min, retries) but not -1', () => {
    const config = loadConfig({
      ...SUPABASE,
      ...OPENAI,
      ...DATABASE,
      SUPABASE_MAX_KEEPALIVE: '0',
      OPENAI_MAX_RETRIES: '0',
      DATABASE_POOL_MIN: '0',
    });
    expect([config.supabase?.maxKeepAlive, config.openai?.maxRetries, config.database?.min]).toEqual([0, 0, 0]);
    const error = configError({ SUPABASE_MAX_KEEPALIVE: '-1', OPENAI_MAX_RETRIES: '2.5' });
    expect(error.issues.map((issue) => issue.variable)).toEqual(['SUPABASE_MAX_KEEPALIVE', 'OPENAI_MAX_RETRIES']);
  });

  it('rejects a PINECONE_POOL_MAXSIZE of 0: a pool size is at least 1', () => {
    expect(problemOf(configError({ PINECONE_POOL_MAXSIZE: '0' }), 'PINECONE_POOL_MAXSIZE')).toBe(
      'must be a positive integer',
    );
  });

  it.each(['0', '-1', 'thirty', '30s', '0.0001'])(
    'rejects SUPABASE_TIMEOUT=%j as not a positive number of seconds',
    (value) => {
      expect(problemOf(configError({ SUPABASE_TIMEOUT: value }), 'SUPABASE_TIMEOUT')).toMatch(
        /positive number of seconds/,
      );
    },
  );

  it('rejects durations Node timers cannot hold (over 2^31-1 ms)', () => {
    const error = configError({ OPENAI_TIMEOUT: '3000000', SHUTDOWN_TIMEOUT_MS: '2147483648' });
    expect(problemOf(error, 'OPENAI_TIMEOUT')).toMatch(/at most 2147483 seconds/);
    expect(problemOf(error, 'SHUTDOWN_TIMEOUT_MS')).toMatch(/at most 2147483647 ms/);
  });

  it('rejects PORT outside 0–65535', () => {
    expect(problemOf(configError({ PORT: '65536' }), 'PORT')).toBe('must be an integer port from 0 to 65535');
  });

  it('rejects non-http URLs with "must be an http(s) URL"', () => {
    const error = configError({
      ...SUPABASE,
      ...OPENAI,
      SUPABASE_URL: 'abcd.supabase.co',
      OPENAI_BASE_URL: 'ftp://proxy/v1',
    });
    expect(problemOf(error, 'SUPABASE_URL')).toMatch(/^must be an http\(s\) URL/);
    expect(problemOf(error, 'OPENAI_BASE_URL')).toMatch(/^must be an http\(s\) URL/);
  });

  it('rejects credentials inside SUPABASE_URL (keys have their own variables)', () => {
    const error = configError({ ...SUPABASE, SUPABASE_URL: 'https://user:pw@abcd.supabase.co' });
    expect(problemOf(error, 'SUPABASE_URL')).toMatch(/must not contain a username or password/);
  });

  it('accepts PINECONE_INDEX_HOST bare or as an https URL, but not with a path', () => {
    expect(loadConfig({ ...PINECONE, PINECONE_INDEX_HOST: 'https://idx.svc.pinecone.io' }).pinecone?.indexHost).toBe(
      'https://idx.svc.pinecone.io',
    );
    expect(
      problemOf(configError({ ...PINECONE, PINECONE_INDEX_HOST: 'idx.svc.pinecone.io/query' }), 'PINECONE_INDEX_HOST'),
    ).toBe('must be a host only (no path, query or fragment)');
  });

  it('rejects a DATABASE_URL that is not postgres:// or postgresql://', () => {
    expect(problemOf(configError({ DATABASE_URL: 'mysql://root@db/app' }), 'DATABASE_URL')).toBe(
      'must start with postgres:// or postgresql://',
    );
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/app' }).database?.poolSize).toBe(10);
  });

  it('rejects a MONITORING_TOKEN shorter than 16 characters', () => {
    expect(problemOf(configError({ MONITORING_TOKEN: 'short' }), 'MONITORING_TOKEN')).toBe(
      'must be at least 16 characters long',
    );
  });

  it('METRICS_AUTH must be true or false, and true needs MONITORING_TOKEN', () => {
    expect(problemOf(configError({ METRICS_AUTH: 'yes' }), 'METRICS_AUTH')).toBe('must be true or false');
    expect(problemOf(configError({ METRICS_AUTH: 'true' }), 'MONITORING_TOKEN')).toBe(
      'must be set because METRICS_AUTH is true',
    );
  });

  it('RUNBOOK_BASE_URL must be an absolute http(s) URL', () => {
    for (const bad of ['docs/runbooks/', 'ftp://files.example.com/runbooks/', 'not a url'])
      expect(problemOf(configError({ RUNBOOK_BASE_URL: bad }), 'RUNBOOK_BASE_URL')).toBe(
        'must be an absolute http(s) URL, the folder holding <AlertName>.md',
      );
  });

  it('rejects LOG_LEVEL and POOLSCOPE_MODE values outside their lists', () => {
    const error = configError({ LOG_LEVEL: 'verbose', POOLSCOPE_MODE: 'test' });
    expect(problemOf(error, 'LOG_LEVEL')).toBe('must be one of: fatal, error, warn, info, debug, trace, silent');
    expect(problemOf(error, 'POOLSCOPE_MODE')).toBe('must be one of: auto, demo, live');
  });

  it('rejects list entries with spaces or over 64 characters, and lists with no entry', () => {
    const error = configError({ SUPABASE_TABLES: 'documents, my table', OPENAI_MODELS: ' , ' });
    expect(problemOf(error, 'SUPABASE_TABLES')).toMatch(/comma-separated list of names without spaces/);
    expect(problemOf(error, 'OPENAI_MODELS')).toBe('must name at least one entry');
  });

  it('validates tuning variables even when their upstream is not configured', () => {
    expect(configError({ SUPABASE_POOL_SIZE: 'many' }).issues).toHaveLength(1);
  });
});

describe('loadConfig: variables that need each other', () => {
  it('SUPABASE_SERVICE_ROLE_KEY without SUPABASE_URL names SUPABASE_URL', () => {
    const error = configError({ SUPABASE_SERVICE_ROLE_KEY: 'service-role-secret-jwt' });
    expect(error.issues).toEqual([
      { variable: 'SUPABASE_URL', problem: 'must be set because SUPABASE_SERVICE_ROLE_KEY is set' },
    ]);
  });

  it('SUPABASE_URL without any key names both key variables', () => {
    const error = configError({ SUPABASE_URL: 'https://abcd.supabase.co' });
    expect(error.issues).toEqual([
      {
        variable: 'SUPABASE_ANON_KEY or SUPABASE_SERVICE_ROLE_KEY',
        problem: 'one of them must be set because SUPABASE_URL is set',
      },
    ]);
  });

  it('SUPABASE_URL with only SUPABASE_ANON_KEY is a valid Supabase section', () => {
    const supabase = loadConfig({ SUPABASE_URL: 'https://abcd.supabase.co', SUPABASE_ANON_KEY: 'anon-jwt' }).supabase;
    expect(supabase?.anonKey).toBe('anon-jwt');
    expect(supabase?.serviceRoleKey).toBeUndefined();
  });

  it('PINECONE_API_KEY without PINECONE_INDEX_HOST and PINECONE_INDEX_NAME is an error naming both', () => {
    const error = configError({ PINECONE_API_KEY: 'pc-secret-key' });
    expect(error.issues.map((issue) => issue.variable)).toEqual(['PINECONE_INDEX_HOST or PINECONE_INDEX_NAME']);
  });

  it('PINECONE_INDEX_NAME alone (host discovered at run time) is enough with the key', () => {
    const pinecone = loadConfig({ PINECONE_API_KEY: 'pc-secret-key', PINECONE_INDEX_NAME: 'docs' }).pinecone;
    expect(pinecone?.indexName).toBe('docs');
    expect(pinecone?.indexHost).toBeUndefined();
  });

  it('PINECONE_INDEX_HOST without PINECONE_API_KEY names PINECONE_API_KEY', () => {
    expect(problemOf(configError({ PINECONE_INDEX_HOST: 'idx.svc.pinecone.io' }), 'PINECONE_API_KEY')).toBe(
      'must be set because PINECONE_INDEX_HOST is set',
    );
  });

  it('OPENAI_BASE_URL without OPENAI_API_KEY names OPENAI_API_KEY', () => {
    expect(problemOf(configError({ OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1' }), 'OPENAI_API_KEY')).toMatch(
      /^must be set because OPENAI_BASE_URL is set/,
    );
  });

  it('DATABASE_POOL_MIN above DATABASE_POOL_SIZE names DATABASE_POOL_MIN', () => {
    const error = configError({ ...DATABASE, DATABASE_POOL_SIZE: '4', DATABASE_POOL_MIN: '5' });
    expect(error.issues).toEqual([
      { variable: 'DATABASE_POOL_MIN', problem: 'must not be greater than DATABASE_POOL_SIZE' },
    ]);
  });

  it('reports value problems and missing companions together', () => {
    const error = configError({ SUPABASE_ANON_KEY: 'anon-jwt', OPENAI_TIMEOUT: 'never', PORT: '-1' });
    expect(error.issues.map((issue) => issue.variable).sort()).toEqual(['OPENAI_TIMEOUT', 'PORT', 'SUPABASE_URL']);
  });
});

describe('secrets never leak', () => {
  const everyBadValue: Env = {
    SUPABASE_URL: 'https://user:supabase-url-secret@abcd.supabase.co',
    SUPABASE_ANON_KEY: 'anon secret with spaces',
    OPENAI_API_KEY: 'sk-leaky secret',
    OPENAI_BASE_URL: 'not a url sk-base-secret',
    PINECONE_API_KEY: 'pc leaky',
    MONITORING_TOKEN: 'tok-short',
    DATABASE_URL: `mysql://app:${DATABASE_PASSWORD}@db/app`,
  };

  it('never prints the value of OPENAI_API_KEY in an error', () => {
    const error = configError({ OPENAI_API_KEY: 'sk-leaky secret' });
    expect(problemOf(error, 'OPENAI_API_KEY')).toBe('must not contain spaces or line breaks');
    expect(error.message).not.toContain('sk-leaky');
    expect(inspect(error)).not.toContain('sk-leaky');
  });

  it('no error message, issue or inspected error contains any bad value', () => {
    const error = configError(everyBadValue);
    const rendered = [
      error.message,
      JSON.stringify(error.issues),
      inspect(error, { depth: 5 }),
      String(error.stack),
    ].join('\n');
    for (const value of Object.values(everyBadValue)) expect(rendered).not.toContain(value);
    for (const fragment of [
      'supabase-url-secret',
      'sk-leaky',
      'sk-base-secret',
      'pc leaky',
      'tok-short',
      DATABASE_PASSWORD,
    ]) {
      expect(rendered).not.toContain(fragment);
    }
  });

  it('the DATABASE_URL password is never in errors, even when the URL does not parse', () => {
    const unparsable = `postgres://app:${DATABASE_PASSWORD}@db:notaport/app`;
    const error = configError({ DATABASE_URL: unparsable });
    expect(problemOf(error, 'DATABASE_URL')).toMatch(/^must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(error.message).not.toContain(DATABASE_PASSWORD);
  });

  it('keys, tokens and DATABASE_URL are readable but left out of JSON.stringify, console output and spreads', () => {
    const config = loadConfig({
      ...SUPABASE,
      ...PINECONE,
      ...OPENAI,
      ...DATABASE,
      MONITORING_TOKEN: 'monitoring-token-1234',
    });
    expect(config.openai?.apiKey).toBe(OPENAI.OPENAI_API_KEY);
    expect(config.supabase?.serviceRoleKey).toBe(SUPABASE.SUPABASE_SERVICE_ROLE_KEY);
    expect(config.pinecone?.apiKey).toBe(PINECONE.PINECONE_API_KEY);
    expect(config.database?.url).toBe(DATABASE.DATABASE_URL);
    expect(config.service.monitoringToken).toBe('monitoring-token-1234');

    const outputs = [JSON.stringify(config), inspect(config, { depth: 10 }), JSON.stringify({ ...config.openai })];
    for (const output of outputs) {
      for (const secret of [
        'sk-proj-supersecretvalue',
        'service-role-secret-jwt',
        'pc-secret-key',
        'monitoring-token-1234',
      ]) {
        expect(output).not.toContain(secret);
      }
      expect(output).not.toContain(encodeURIComponent(DATABASE_PASSWORD));
    }
  });

  it('describeConfig marks set secrets as "set", omits unset ones and redacts DATABASE_URL', () => {
    const config = loadConfig({
      ...SUPABASE,
      ...PINECONE,
      ...OPENAI,
      ...DATABASE,
      MONITORING_TOKEN: 'monitoring-token-1234',
    });
    const described = describeConfig(config);
    expect(described.supabase).toEqual({
      url: 'https://abcd.supabase.co',
      serviceRoleKey: 'set',
      poolSize: 20,
      maxKeepAlive: 50,
      timeoutSeconds: 30,
      tables: [],
    });
    expect(described.pinecone?.apiKey).toBe('set');
    expect(described.openai?.apiKey).toBe('set');
    expect(described.service.monitoringToken).toBe('set');
    expect(described.database?.url).toBe('postgres://app:***@db.internal:5432/app');
    const json = JSON.stringify(described);
    expect(json).not.toContain(encodeURIComponent(DATABASE_PASSWORD));
    expect(json).not.toContain('sk-proj');
  });

  it('describeConfig hides secrets of a hand-built config whose keys are ordinary properties', () => {
    const config: PoolscopeConfig = {
      mode: 'live',
      service: {
        host: '127.0.0.1',
        port: 9464,
        metricsAuth: false,
        healthIntervalSeconds: 15,
        logLevel: 'info',
        shutdownTimeoutMs: 10_000,
      },
      openai: {
        apiKey: 'sk-hand-built',
        baseURL: 'https://api.openai.com/v1',
        maxConcurrent: 1,
        poolSize: 1,
        timeoutSeconds: 1,
        maxRetries: 0,
      },
    };
    expect(JSON.stringify(describeConfig(config))).not.toContain('sk-hand-built');
  });
});

describe('redactUrl', () => {
  it.each([
    ['postgres://app:s3cret@db:5432/app', 'postgres://app:***@db:5432/app'],
    ['postgresql://app:p%40ss@db/app?sslmode=require', 'postgresql://app:***@db/app?sslmode=require'],
    ['postgres://app:p@ss/w@rd@db/app', 'postgres://app:***@db/app'],
    [
      'postgres://db/app?user=app&password=s3cret&sslmode=require',
      'postgres://db/app?user=app&password=***&sslmode=require',
    ],
    ['postgres://app:x@db/app?sslpassword=keypass', 'postgres://app:***@db/app?sslpassword=***'],
    ['postgres://app@db/app', 'postgres://app@db/app'],
    ['postgres://db/app', 'postgres://db/app'],
  ])('redacts %s as %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });

  it('accepts a URL object', () => {
    expect(redactUrl(new URL('postgres://app:s3cret@db/app'))).toBe('postgres://app:***@db/app');
  });
});

describe('mapping config sections to pool options', () => {
  const config = loadConfig({ ...SUPABASE, ...PINECONE, ...OPENAI, SUPABASE_URL: 'https://abcd.supabase.co/' });

  it('SUPABASE_POOL_SIZE becomes connections and maxConcurrent; SUPABASE_TIMEOUT every phase, connect capped at 10 s', () => {
    const options = supabasePoolOptions(config.supabase!);
    expect(options).toEqual({
      name: 'supabase',
      origin: 'https://abcd.supabase.co',
      connections: 20,
      maxConcurrent: 20,
      timeouts: { connectMs: 10_000, headersMs: 30_000, bodyMs: 30_000, acquireMs: 30_000, requestMs: 30_000 },
    });
    expect(() => resolvePoolOptions(options)).not.toThrow();
  });

  it('a SUPABASE_TIMEOUT below 10 s also bounds the connect phase', () => {
    const supabase = loadConfig({ ...SUPABASE, SUPABASE_TIMEOUT: '2.5' }).supabase!;
    expect(supabasePoolOptions(supabase).timeouts).toEqual({
      connectMs: 2_500,
      headersMs: 2_500,
      bodyMs: 2_500,
      acquireMs: 2_500,
      requestMs: 2_500,
    });
  });

  it('SUPABASE_MAX_KEEPALIVE=0 turns keep-alive off (keepAliveTimeoutMs 1); other values keep the pool default', () => {
    const off = loadConfig({ ...SUPABASE, SUPABASE_MAX_KEEPALIVE: '0' }).supabase!;
    expect(supabasePoolOptions(off).keepAliveTimeoutMs).toBe(1);
    expect(supabasePoolOptions(config.supabase!).keepAliveTimeoutMs).toBeUndefined();
  });

  it('SUPABASE_URL with a path maps to its origin only', () => {
    const supabase = loadConfig({ ...SUPABASE, SUPABASE_URL: 'http://127.0.0.1:54321/prefix' }).supabase!;
    expect(supabasePoolOptions(supabase).origin).toBe('http://127.0.0.1:54321');
  });

  it('PINECONE_POOL_SIZE becomes connections and maxConcurrent, on the index host by default', () => {
    const options = pineconePoolOptions(config.pinecone!);
    expect(options).toEqual({
      name: 'pinecone',
      origin: 'https://docs-abc123.svc.us-east1-gcp.pinecone.io',
      connections: 10,
      maxConcurrent: 10,
      timeouts: { connectMs: 10_000, headersMs: 30_000, bodyMs: 30_000, acquireMs: 30_000, requestMs: 30_000 },
    });
    expect(() => resolvePoolOptions(options)).not.toThrow();
  });

  it('pineconePoolOptions takes another origin (the control plane), reduced to its origin', () => {
    expect(pineconePoolOptions(config.pinecone!, 'https://api.pinecone.io/indexes').origin).toBe(
      'https://api.pinecone.io',
    );
    expect(pineconePoolOptions(config.pinecone!, new URL('http://127.0.0.1:5080')).origin).toBe(
      'http://127.0.0.1:5080',
    );
  });

  it('pineconePoolOptions without an origin and without PINECONE_INDEX_HOST throws PoolConfigError', () => {
    const pinecone = loadConfig({ PINECONE_API_KEY: 'pc-secret-key', PINECONE_INDEX_NAME: 'docs' }).pinecone!;
    expect(() => pineconePoolOptions(pinecone)).toThrow(PoolConfigError);
  });

  it('OPENAI_MAX_CONCURRENT → maxConcurrent, OPENAI_POOL_SIZE → connections, OPENAI_TIMEOUT → headers/body/acquire, no overall deadline, OPENAI_MAX_RETRIES → retry.maxRetries', () => {
    const openai = loadConfig({
      ...OPENAI,
      OPENAI_MAX_CONCURRENT: '16',
      OPENAI_POOL_SIZE: '8',
      OPENAI_TIMEOUT: '45',
      OPENAI_MAX_RETRIES: '1',
    }).openai!;
    const options = openaiPoolOptions(openai);
    expect(options).toEqual({
      name: 'openai',
      origin: 'https://api.openai.com',
      connections: 8,
      maxConcurrent: 16,
      timeouts: { connectMs: 10_000, headersMs: 45_000, bodyMs: 45_000, acquireMs: 45_000, requestMs: 0 },
      retry: { maxRetries: 1 },
    });
    expect(() => resolvePoolOptions(options)).not.toThrow();
  });

  it('OPENAI_BASE_URL maps to its origin, never its path', () => {
    const openai = loadConfig({ ...OPENAI, OPENAI_BASE_URL: 'http://127.0.0.1:8080/v1' }).openai!;
    expect(openaiPoolOptions(openai).origin).toBe('http://127.0.0.1:8080');
  });
});

describe('loadConfig: the fleet budget', () => {
  const REDIS_PASSWORD = 'r3dis-s3cret';
  const FLEET: Env = { FLEET_REDIS_URL: `redis://:${REDIS_PASSWORD}@redis.internal:6379/0` };

  it('gives each upstream with <UPSTREAM>_FLEET_MAX_CONCURRENT its cap, and the Redis settings once', () => {
    const config = loadConfig({
      ...OPENAI,
      ...DATABASE,
      ...SUPABASE,
      ...FLEET,
      OPENAI_FLEET_MAX_CONCURRENT: '50',
      DATABASE_FLEET_MAX_CONCURRENT: '40',
    });
    expect(config.openai?.fleetMaxConcurrent).toBe(50);
    expect(config.database?.fleetMaxConcurrent).toBe(40);
    expect(config.supabase?.fleetMaxConcurrent).toBeUndefined();
    expect(config.fleet).toMatchObject({ leaseMs: 10_000, onUnavailable: 'local' });
    expect(config.fleet?.redisUrl).toBe(FLEET.FLEET_REDIS_URL);
  });

  it('reads FLEET_LEASE_MS and FLEET_ON_UNAVAILABLE', () => {
    const config = loadConfig({
      ...OPENAI,
      ...FLEET,
      OPENAI_FLEET_MAX_CONCURRENT: '5',
      FLEET_LEASE_MS: '3000',
      FLEET_ON_UNAVAILABLE: 'Reject',
    });
    expect(config.fleet).toMatchObject({ leaseMs: 3_000, onUnavailable: 'reject' });
  });

  it('rejects bad values, naming each variable and never the URL', () => {
    const error = configError({
      ...OPENAI,
      FLEET_REDIS_URL: `http://:${REDIS_PASSWORD}@redis:6379`,
      OPENAI_FLEET_MAX_CONCURRENT: '0',
      FLEET_LEASE_MS: '10',
      FLEET_ON_UNAVAILABLE: 'ignore',
    });
    expect(problemOf(error, 'FLEET_REDIS_URL')).toMatch(/redis:\/\/ or rediss:\/\//);
    expect(problemOf(error, 'OPENAI_FLEET_MAX_CONCURRENT')).toBe('must be a positive integer');
    expect(problemOf(error, 'FLEET_LEASE_MS')).toBe('must be a whole number of milliseconds, 30 or more');
    expect(problemOf(error, 'FLEET_ON_UNAVAILABLE')).toBe('must be one of: local, reject');
    expect(`${error.message} ${inspect(error)}`).not.toContain(REDIS_PASSWORD);
  });

  it('a cap without FLEET_REDIS_URL names FLEET_REDIS_URL', () => {
    const error = configError({ ...OPENAI, OPENAI_FLEET_MAX_CONCURRENT: '5' });
    expect(error.issues).toEqual([
      { variable: 'FLEET_REDIS_URL', problem: 'must be set because OPENAI_FLEET_MAX_CONCURRENT is set' },
    ]);
  });

  it('FLEET_REDIS_URL that caps nothing names every cap variable', () => {
    const error = configError({ ...OPENAI, ...FLEET });
    expect(error.issues).toEqual([
      {
        variable:
          'SUPABASE_FLEET_MAX_CONCURRENT or PINECONE_FLEET_MAX_CONCURRENT or OPENAI_FLEET_MAX_CONCURRENT or OPENAI_FLEET_TOKENS_PER_MINUTE or DATABASE_FLEET_MAX_CONCURRENT',
        problem: 'one of them must be set because FLEET_REDIS_URL is set',
      },
    ]);
  });

  it('reads OPENAI_FLEET_TOKENS_PER_MINUTE, alone or with a cap, and rejects what is not a positive integer', () => {
    expect(loadConfig({ ...OPENAI, ...FLEET, OPENAI_FLEET_TOKENS_PER_MINUTE: '90000' }).openai).toMatchObject({
      fleetTokensPerMinute: 90_000,
    });
    expect(
      loadConfig({ ...OPENAI, ...FLEET, OPENAI_FLEET_TOKENS_PER_MINUTE: '90000' }).openai?.fleetMaxConcurrent,
    ).toBe(undefined);
    for (const bad of ['0', '1.5', '90k'])
      expect(
        problemOf(
          configError({ ...OPENAI, ...FLEET, OPENAI_FLEET_TOKENS_PER_MINUTE: bad }),
          'OPENAI_FLEET_TOKENS_PER_MINUTE',
        ),
      ).toBe('must be a positive integer');
    expect(configError({ ...OPENAI, OPENAI_FLEET_TOKENS_PER_MINUTE: '90000' }).issues).toEqual([
      { variable: 'FLEET_REDIS_URL', problem: 'must be set because OPENAI_FLEET_TOKENS_PER_MINUTE is set' },
    ]);
    expect(configError({ ...DATABASE, ...FLEET, OPENAI_FLEET_TOKENS_PER_MINUTE: '90000' }).issues).toEqual([
      {
        variable: 'OPENAI_FLEET_TOKENS_PER_MINUTE',
        problem: 'caps nothing: openai is not configured (set OPENAI_API_KEY)',
      },
    ]);
  });

  it('a cap on an upstream that is not configured names the cap and what to set', () => {
    const error = configError({
      ...OPENAI,
      ...FLEET,
      OPENAI_FLEET_MAX_CONCURRENT: '5',
      PINECONE_FLEET_MAX_CONCURRENT: '5',
    });
    expect(error.issues).toEqual([
      {
        variable: 'PINECONE_FLEET_MAX_CONCURRENT',
        problem: 'caps nothing: pinecone is not configured (set PINECONE_API_KEY)',
      },
    ]);
  });

  it('keeps FLEET_REDIS_URL out of JSON and describeConfig shows it redacted', () => {
    const config = loadConfig({ ...OPENAI, ...FLEET, OPENAI_FLEET_MAX_CONCURRENT: '5' });
    expect(JSON.stringify(config)).not.toContain(REDIS_PASSWORD);
    expect(describeConfig(config).fleet).toEqual({
      leaseMs: 10_000,
      onUnavailable: 'local',
      redisUrl: 'redis://:***@redis.internal:6379/0',
    });
  });
});

describe('docs/configuration.md', () => {
  it('has a row for every variable loadConfig reads, and none for a variable it does not', () => {
    const doc = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
    const rows = new Set([...doc.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((match) => match[1]!));
    const read = Object.keys(ENV_SCHEMA);
    expect(
      read.filter((name) => !rows.has(name)),
      'read but not documented',
    ).toEqual([]);
    expect(
      [...rows].filter((name) => !read.includes(name)),
      'documented but not read',
    ).toEqual([]);
  });
});
