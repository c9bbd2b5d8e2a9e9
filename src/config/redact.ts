import type {
  FleetConfig,
  DatabaseConfig,
  OpenAIConfig,
  PineconeConfig,
  PoolscopeConfig,
  ServiceConfig,
  SupabaseConfig,
} from './types.js';

const REDACTED = '***';

/**
 * Replaces the password of a URL with `***`, plus any query parameter whose name contains
 * "password" (libpq reads `?password=`). Works on text that does not parse as a URL too (an
 * unencoded `@` or `/` in a password), erring towards hiding too much rather than too little.
 */
export function redactUrl(url: string | URL): string {
  const text = String(url);
  let out = text;
  const schemeEnd = text.indexOf('://');
  if (schemeEnd !== -1) {
    const authorityStart = schemeEnd + 3;
    // The last `@` ends the userinfo: a password may hold an unencoded `@`, a host never does.
    const at = text.lastIndexOf('@');
    if (at > authorityStart) {
      const userinfo = text.slice(authorityStart, at);
      const colon = userinfo.indexOf(':');
      const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
      if (colon !== -1 && !/[/?#]/.test(user)) {
        out = `${text.slice(0, authorityStart + colon + 1)}${REDACTED}${text.slice(at)}`;
      }
    }
  }
  return out.replace(/([?&][^=&#]*password[^=&#]*=)[^&#]*/gi, `$1${REDACTED}`);
}

export type Described<T, Secret extends keyof T> = Omit<T, Secret> & { [K in Secret]?: 'set' };

/** `describeConfig()`'s result: secrets replaced by `"set"`, the database URL redacted. */
export interface DescribedConfig {
  mode: PoolscopeConfig['mode'];
  service: Described<ServiceConfig, 'monitoringToken'>;
  profile?: PoolscopeConfig['profile'];
  supabase?: Described<SupabaseConfig, 'anonKey' | 'serviceRoleKey'>;
  pinecone?: Omit<PineconeConfig, 'apiKey'> & { apiKey: 'set' };
  openai?: Omit<OpenAIConfig, 'apiKey'> & { apiKey: 'set' };
  database?: DatabaseConfig;
  fleet?: FleetConfig;
}

/** Copy of `section` without `secrets` (enumerable or not), each present one replaced by `"set"`. */
function redactSection<T extends object, S extends keyof T & string>(
  section: T,
  secrets: readonly S[],
): Described<T, S> {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(section)) {
    if (!(secrets as readonly string[]).includes(key)) copy[key] = Array.isArray(value) ? [...value] : value;
  }
  for (const key of secrets) {
    if (typeof section[key] === 'string') copy[key] = 'set';
  }
  return copy as Described<T, S>;
}

/**
 * A log-safe copy of the configuration: every key and token replaced by `"set"` (absent when
 * unset), the password in the database URL replaced by `***`. Safe to log or serve as JSON.
 */
export function describeConfig(config: PoolscopeConfig): DescribedConfig {
  const described: DescribedConfig = { mode: config.mode, service: redactSection(config.service, ['monitoringToken']) };
  if (config.profile !== undefined) described.profile = config.profile;
  if (config.supabase) described.supabase = redactSection(config.supabase, ['anonKey', 'serviceRoleKey']);
  if (config.pinecone) described.pinecone = { ...redactSection(config.pinecone, ['apiKey']), apiKey: 'set' };
  if (config.openai) described.openai = { ...redactSection(config.openai, ['apiKey']), apiKey: 'set' };
  if (config.database)
    described.database = { ...redactSection(config.database, ['url']), url: redactUrl(config.database.url) };
  if (config.fleet)
    described.fleet = { ...redactSection(config.fleet, ['redisUrl']), redisUrl: redactUrl(config.fleet.redisUrl) };
  return described;
}
