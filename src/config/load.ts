import { ENV_DEFAULTS, POOL_PROFILES } from './defaults.js';
import { ConfigError, type ConfigIssue } from '../errors/index.js';
import { ENV_SCHEMA, type EnvValues, type EnvVariable } from './schema.js';
import type {
  DatabaseConfig,
  FleetConfig,
  OpenAIConfig,
  PineconeConfig,
  PoolscopeConfig,
  ServiceConfig,
  SupabaseConfig,
} from './types.js';

type RawEnv = Partial<Record<EnvVariable, string>>;

/**
 * Reads and validates every poolscope variable at once. Throws one `ConfigError` listing every bad
 * variable and why (never a value). Secrets in the result are not enumerable: `JSON.stringify`,
 * `console.log` and pino leave them out; `describeConfig()` gives a copy that says which are set.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): PoolscopeConfig {
  const raw = readRaw(env);
  const issues: ConfigIssue[] = [];
  const values = parseValues(raw, issues);
  issues.push(...relationIssues(raw, values));
  if (issues.length > 0) throw new ConfigError(issues);
  return build(raw, values);
}

/** Trimmed values of the variables we know; empty and blank strings count as unset. */
function readRaw(env: Record<string, string | undefined>): RawEnv {
  const raw: RawEnv = {};
  for (const name of Object.keys(ENV_SCHEMA) as EnvVariable[]) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '') raw[name] = value;
  }
  return raw;
}

function parseValues(raw: RawEnv, issues: ConfigIssue[]): EnvValues {
  const values: Record<string, unknown> = {};
  for (const name of Object.keys(ENV_SCHEMA) as EnvVariable[]) {
    const input = raw[name];
    if (input === undefined) continue;
    const result = ENV_SCHEMA[name].safeParse(input);
    if (result.success) values[name] = result.data;
    // The first problem is enough to fix; our schemas report one per variable anyway.
    else issues.push({ variable: name, problem: result.error.issues[0]?.message ?? 'is invalid' });
  }
  return values as EnvValues;
}

const SUPABASE_KEYS = ['SUPABASE_ANON_KEY', 'SUPABASE_SERVICE_ROLE_KEY'] as const;
/** Each upstream's fleet cap, the upstream, and the variable that configures that upstream. */
const FLEET_CAPS = [
  ['SUPABASE_FLEET_MAX_CONCURRENT', 'supabase', 'SUPABASE_URL'],
  ['PINECONE_FLEET_MAX_CONCURRENT', 'pinecone', 'PINECONE_API_KEY'],
  ['OPENAI_FLEET_MAX_CONCURRENT', 'openai', 'OPENAI_API_KEY'],
  ['OPENAI_FLEET_TOKENS_PER_MINUTE', 'openai', 'OPENAI_API_KEY'],
  ['DATABASE_FLEET_MAX_CONCURRENT', 'database', 'DATABASE_URL'],
] as const satisfies ReadonlyArray<readonly [EnvVariable, keyof ReturnType<typeof configured>, EnvVariable]>;
const PINECONE_TARGETS = ['PINECONE_INDEX_HOST', 'PINECONE_INDEX_NAME', 'PINECONE_CONTROLLER_HOST'] as const;

function isSet(raw: RawEnv, names: readonly EnvVariable[]): EnvVariable[] {
  return names.filter((name) => raw[name] !== undefined);
}

function because(names: readonly string[]): string {
  return names.length === 1 ? `${names[0]} is set` : `${names.slice(0, -1).join(', ')} and ${names.at(-1)} are set`;
}

function configured(raw: RawEnv) {
  return {
    supabase: isSet(raw, ['SUPABASE_URL', ...SUPABASE_KEYS]).length > 0,
    pinecone: isSet(raw, ['PINECONE_API_KEY', ...PINECONE_TARGETS]).length > 0,
    openai: isSet(raw, ['OPENAI_API_KEY', 'OPENAI_BASE_URL']).length > 0,
    database: raw.DATABASE_URL !== undefined,
  };
}

/** Rules between variables. They look at presence, so they hold even when a value itself is bad. */
function relationIssues(raw: RawEnv, values: EnvValues): ConfigIssue[] {
  const issues: ConfigIssue[] = [];

  const supabaseKeys = isSet(raw, SUPABASE_KEYS);
  if (supabaseKeys.length > 0 && raw.SUPABASE_URL === undefined) {
    issues.push({ variable: 'SUPABASE_URL', problem: `must be set because ${because(supabaseKeys)}` });
  }
  if (raw.SUPABASE_URL !== undefined && supabaseKeys.length === 0) {
    issues.push({
      variable: SUPABASE_KEYS.join(' or '),
      problem: 'one of them must be set because SUPABASE_URL is set',
    });
  }

  const pineconeTargets = isSet(raw, PINECONE_TARGETS);
  if (pineconeTargets.length > 0 && raw.PINECONE_API_KEY === undefined) {
    issues.push({ variable: 'PINECONE_API_KEY', problem: `must be set because ${because(pineconeTargets)}` });
  }
  if (
    raw.PINECONE_API_KEY !== undefined &&
    raw.PINECONE_INDEX_HOST === undefined &&
    raw.PINECONE_INDEX_NAME === undefined
  ) {
    issues.push({
      variable: 'PINECONE_INDEX_HOST or PINECONE_INDEX_NAME',
      problem: 'one of them must be set because PINECONE_API_KEY is set',
    });
  }

  if (raw.OPENAI_BASE_URL !== undefined && raw.OPENAI_API_KEY === undefined) {
    issues.push({
      variable: 'OPENAI_API_KEY',
      problem: 'must be set because OPENAI_BASE_URL is set (any placeholder works for a server that needs no key)',
    });
  }

  const poolSize = values.DATABASE_POOL_SIZE ?? ENV_DEFAULTS.DATABASE_POOL_SIZE;
  if (values.DATABASE_POOL_MIN !== undefined && values.DATABASE_POOL_MIN > poolSize) {
    issues.push({ variable: 'DATABASE_POOL_MIN', problem: 'must not be greater than DATABASE_POOL_SIZE' });
  }

  if (values.METRICS_AUTH === true && raw.MONITORING_TOKEN === undefined) {
    issues.push({ variable: 'MONITORING_TOKEN', problem: 'must be set because METRICS_AUTH is true' });
  }

  const upstreams = configured(raw);
  const caps = isSet(
    raw,
    FLEET_CAPS.map(([cap]) => cap),
  );
  const fleetSettings = isSet(raw, ['FLEET_LEASE_MS', 'FLEET_ON_UNAVAILABLE', ...caps]);
  if (fleetSettings.length > 0 && raw.FLEET_REDIS_URL === undefined) {
    issues.push({ variable: 'FLEET_REDIS_URL', problem: `must be set because ${because(fleetSettings)}` });
  }
  // A Redis URL that caps nothing would look like a fleet budget that is not there.
  if (raw.FLEET_REDIS_URL !== undefined && caps.length === 0) {
    issues.push({
      variable: FLEET_CAPS.map(([cap]) => cap).join(' or '),
      problem: 'one of them must be set because FLEET_REDIS_URL is set',
    });
  }
  for (const [cap, upstream, enable] of FLEET_CAPS) {
    if (raw[cap] !== undefined && !upstreams[upstream])
      issues.push({ variable: cap, problem: `caps nothing: ${upstream} is not configured (set ${enable})` });
  }

  if (values.POOLSCOPE_MODE === 'live' && !Object.values(upstreams).some(Boolean)) {
    issues.push({
      variable: 'POOLSCOPE_MODE',
      problem:
        'is live but no upstream is configured: set SUPABASE_URL, PINECONE_API_KEY, OPENAI_API_KEY or DATABASE_URL',
    });
  }
  return issues;
}

/**
 * Sets secrets as own properties that are not enumerable: readable as usual, but left out by
 * `JSON.stringify`, `util.inspect`, `Object.keys` and spreads.
 */
function withSecrets<T extends object>(section: T, secrets: Record<string, string | undefined>): T {
  for (const [key, value] of Object.entries(secrets)) {
    if (value !== undefined)
      Object.defineProperty(section, key, { value, enumerable: false, writable: true, configurable: true });
  }
  return section;
}

/** Only called once every rule holds, so the sections' required variables are present and valid. */
function build(raw: RawEnv, v: EnvValues): PoolscopeConfig {
  const preset = v.POOL_PROFILE === undefined ? ENV_DEFAULTS : POOL_PROFILES[v.POOL_PROFILE];
  const upstreams = configured(raw);

  const service: ServiceConfig = withSecrets(
    {
      host: v.HOST ?? ENV_DEFAULTS.HOST,
      port: v.PORT ?? ENV_DEFAULTS.PORT,
      metricsAuth: v.METRICS_AUTH ?? ENV_DEFAULTS.METRICS_AUTH,
      ...(v.RUNBOOK_BASE_URL !== undefined && { runbookBaseUrl: v.RUNBOOK_BASE_URL }),
      healthIntervalSeconds: v.HEALTH_INTERVAL_SECONDS ?? ENV_DEFAULTS.HEALTH_INTERVAL_SECONDS,
      logLevel: v.LOG_LEVEL ?? ENV_DEFAULTS.LOG_LEVEL,
      shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS ?? ENV_DEFAULTS.SHUTDOWN_TIMEOUT_MS,
    },
    { monitoringToken: v.MONITORING_TOKEN },
  );

  const config: PoolscopeConfig = {
    // An explicit `demo` wins over configured upstreams, as `--demo` does: the operator asked for the demo.
    mode:
      v.POOLSCOPE_MODE === 'demo'
        ? 'demo'
        : Object.values(upstreams).some(Boolean) || v.POOLSCOPE_MODE === 'live'
          ? 'live'
          : 'demo',
    service,
  };
  if (v.POOL_PROFILE !== undefined) config.profile = v.POOL_PROFILE;

  if (upstreams.supabase) {
    config.supabase = withSecrets<SupabaseConfig>(
      {
        url: required(v.SUPABASE_URL),
        poolSize: v.SUPABASE_POOL_SIZE ?? preset.SUPABASE_POOL_SIZE,
        maxKeepAlive: v.SUPABASE_MAX_KEEPALIVE ?? preset.SUPABASE_MAX_KEEPALIVE,
        timeoutSeconds: v.SUPABASE_TIMEOUT ?? ENV_DEFAULTS.SUPABASE_TIMEOUT,
        tables: v.SUPABASE_TABLES ?? [],
        ...(v.SUPABASE_FLEET_MAX_CONCURRENT !== undefined && { fleetMaxConcurrent: v.SUPABASE_FLEET_MAX_CONCURRENT }),
      },
      { anonKey: v.SUPABASE_ANON_KEY, serviceRoleKey: v.SUPABASE_SERVICE_ROLE_KEY },
    );
  }

  if (upstreams.pinecone) {
    const pinecone: Omit<PineconeConfig, 'apiKey'> = {
      poolSize: v.PINECONE_POOL_SIZE ?? preset.PINECONE_POOL_SIZE,
      poolMaxSize: v.PINECONE_POOL_MAXSIZE ?? preset.PINECONE_POOL_MAXSIZE,
      timeoutSeconds: v.PINECONE_POOL_TIMEOUT ?? ENV_DEFAULTS.PINECONE_POOL_TIMEOUT,
    };
    if (v.PINECONE_INDEX_NAME !== undefined) pinecone.indexName = v.PINECONE_INDEX_NAME;
    if (v.PINECONE_INDEX_HOST !== undefined) pinecone.indexHost = v.PINECONE_INDEX_HOST;
    if (v.PINECONE_CONTROLLER_HOST !== undefined) pinecone.controllerHost = v.PINECONE_CONTROLLER_HOST;
    if (v.PINECONE_FLEET_MAX_CONCURRENT !== undefined) pinecone.fleetMaxConcurrent = v.PINECONE_FLEET_MAX_CONCURRENT;
    config.pinecone = withSecrets(pinecone as PineconeConfig, { apiKey: required(v.PINECONE_API_KEY) });
  }

  if (upstreams.openai) {
    const maxConcurrent = v.OPENAI_MAX_CONCURRENT ?? ENV_DEFAULTS.OPENAI_MAX_CONCURRENT;
    const openai: Omit<OpenAIConfig, 'apiKey'> = {
      baseURL: v.OPENAI_BASE_URL ?? ENV_DEFAULTS.OPENAI_BASE_URL,
      maxConcurrent,
      poolSize: v.OPENAI_POOL_SIZE ?? maxConcurrent,
      timeoutSeconds: v.OPENAI_TIMEOUT ?? ENV_DEFAULTS.OPENAI_TIMEOUT,
      maxRetries: v.OPENAI_MAX_RETRIES ?? ENV_DEFAULTS.OPENAI_MAX_RETRIES,
    };
    if (v.OPENAI_MODELS !== undefined) openai.models = v.OPENAI_MODELS;
    if (v.OPENAI_FLEET_MAX_CONCURRENT !== undefined) openai.fleetMaxConcurrent = v.OPENAI_FLEET_MAX_CONCURRENT;
    if (v.OPENAI_FLEET_TOKENS_PER_MINUTE !== undefined) openai.fleetTokensPerMinute = v.OPENAI_FLEET_TOKENS_PER_MINUTE;
    config.openai = withSecrets(openai as OpenAIConfig, { apiKey: required(v.OPENAI_API_KEY) });
  }

  if (upstreams.database) {
    const database: Omit<DatabaseConfig, 'url'> = {
      poolSize: v.DATABASE_POOL_SIZE ?? ENV_DEFAULTS.DATABASE_POOL_SIZE,
      min: v.DATABASE_POOL_MIN ?? ENV_DEFAULTS.DATABASE_POOL_MIN,
      idleTimeoutMs: v.DATABASE_IDLE_TIMEOUT_MS ?? ENV_DEFAULTS.DATABASE_IDLE_TIMEOUT_MS,
      connectionTimeoutMs: v.DATABASE_CONNECTION_TIMEOUT_MS ?? ENV_DEFAULTS.DATABASE_CONNECTION_TIMEOUT_MS,
      statementTimeoutMs: v.DATABASE_STATEMENT_TIMEOUT_MS ?? ENV_DEFAULTS.DATABASE_STATEMENT_TIMEOUT_MS,
      maxLifetimeMs: v.DATABASE_MAX_LIFETIME_MS ?? ENV_DEFAULTS.DATABASE_MAX_LIFETIME_MS,
      keepAliveIntervalMs: v.DATABASE_KEEPALIVE_INTERVAL_MS ?? ENV_DEFAULTS.DATABASE_KEEPALIVE_INTERVAL_MS,
      ...(v.DATABASE_FLEET_MAX_CONCURRENT !== undefined && { fleetMaxConcurrent: v.DATABASE_FLEET_MAX_CONCURRENT }),
    };
    config.database = withSecrets(database as DatabaseConfig, { url: required(v.DATABASE_URL) });
  }

  if (v.FLEET_REDIS_URL !== undefined) {
    const fleet: Omit<FleetConfig, 'redisUrl'> = {
      leaseMs: v.FLEET_LEASE_MS ?? ENV_DEFAULTS.FLEET_LEASE_MS,
      onUnavailable: v.FLEET_ON_UNAVAILABLE ?? ENV_DEFAULTS.FLEET_ON_UNAVAILABLE,
    };
    config.fleet = withSecrets(fleet as FleetConfig, { redisUrl: v.FLEET_REDIS_URL });
  }
  return config;
}

function required<T>(value: T | undefined): T {
  // The relation rules guarantee presence before `build` runs; this guards against a rule going missing.
  if (value === undefined)
    throw new Error('poolscope: configuration invariant broken (a required variable is missing)');
  return value;
}
