#!/usr/bin/env node
/**
 * `poolscope` / `npm start`: the standalone monitoring service. Reads the environment, serves the monitoring
 * API and /metrics, and drains on SIGTERM/SIGINT. Start-up failures print one line naming the cause and exit
 * non-zero: 2 for bad flags or configuration, 1 when the service cannot start (port in use...).
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ConfigError } from '../errors/index.js';
import { loadConfig } from '../config/load.js';
import type { PoolscopeConfig } from '../config/types.js';
import { VERSION } from '../metrics/registry.js';
import { ServiceListenError } from '../errors/index.js';
import { startService, type RunningService } from '../service/service.js';

const HELP = `poolscope ${VERSION}: bounded, observable connection pools for Supabase, Pinecone and OpenAI,
with Prometheus metrics and a JSON monitoring API.

Usage: poolscope [options]        (or: npm start -- [options])

Options:
  --port <n>       Port to listen on (PORT, default 9464; 0 picks a free port)
  --host <addr>    Address to listen on (HOST, default 127.0.0.1; 0.0.0.0 in containers)
  --demo           Run the demo even if upstream variables are set (they are then ignored)
  -h, --help       Show this help
  -v, --version    Show the version

Without any upstream variable poolscope runs a labelled demo: simulated Supabase, OpenAI and
Pinecone servers in-process and a synthetic workload through the real SDK clients, so every
metric and alert has data. It prints a throwaway bearer token for the protected routes.

Environment (docs/configuration.md has every variable and its default):
  SUPABASE_URL, SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY, SUPABASE_POOL_SIZE (20),
    SUPABASE_MAX_KEEPALIVE (50), SUPABASE_TIMEOUT (30.0 s), SUPABASE_TABLES
  PINECONE_API_KEY, PINECONE_INDEX_HOST or PINECONE_INDEX_NAME, PINECONE_CONTROLLER_HOST,
    PINECONE_POOL_SIZE (10), PINECONE_POOL_MAXSIZE (20), PINECONE_POOL_TIMEOUT (30.0 s)
  OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_MAX_CONCURRENT (10), OPENAI_POOL_SIZE,
    OPENAI_TIMEOUT (60.0 s), OPENAI_MAX_RETRIES (3), OPENAI_MODELS
  DATABASE_URL, DATABASE_POOL_SIZE (10), ...   direct Postgres pool
  POOL_PROFILE        dev | prod-low | prod-high   the reference design's pool sizes
  POOLSCOPE_MODE      auto | demo | live (auto: live when any upstream is configured)
  MONITORING_TOKEN    bearer token of the protected routes (none: they answer 503)
  METRICS_AUTH        true: /metrics needs the token too (default false)
  HEALTH_INTERVAL_SECONDS  upstream health checks, every N seconds (15)
  SHUTDOWN_TIMEOUT_MS      drain deadline on SIGTERM/SIGINT (10000)
  LOG_LEVEL           fatal | error | warn | info | debug | trace | silent (info)

Routes: GET /metrics, GET /api/monitoring/{connection-pools,system-health,alerts},
  GET /api/connections/stats, GET /api/connections/{database,openai,pinecone}/{stats,health,queue},
  POST /api/connections/{database,openai,pinecone}/reset-stats      (docs/http.md)

Signals: SIGTERM or SIGINT stops accepting, drains in-flight requests up to SHUTDOWN_TIMEOUT_MS,
closes the pools and exits 0. A second signal exits at once (1).
`;

// Start-up failures: one JSON line on stderr, in the same format as every other log line.
const fatal = pino(
  { base: { service: 'poolscope' }, timestamp: pino.stdTimeFunctions.isoTime },
  pino.destination({ dest: 2, sync: true }),
);

function fail(exitCode: number, message: string, fields: Record<string, unknown> = {}): never {
  fatal.fatal(fields, message);
  fatal.flush();
  process.exit(exitCode);
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        demo: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    return fail(2, `poolscope: ${(error as Error).message}; see --help`, { code: 'POOLSCOPE_USAGE' });
  }
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(HELP);
    return;
  }
  if (flags.version) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }

  // Flags become the variables they stand for, so they are validated by the same rules.
  const env: Record<string, string | undefined> = { ...process.env };
  if (flags.port !== undefined) env.PORT = flags.port;
  if (flags.host !== undefined) env.HOST = flags.host;
  if (flags.demo) env.POOLSCOPE_MODE = 'demo';

  let config: PoolscopeConfig;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const problems = error.issues.map((issue) => `${issue.variable} ${issue.problem}`).join('; ');
    fail(2, `poolscope: invalid configuration: ${problems}`, {
      code: error.code,
      variables: error.issues.map((issue) => issue.variable),
    });
  }
  if (config.mode === 'demo' && (config.supabase || config.openai || config.pinecone)) {
    // The demo was asked for explicitly: it runs on its simulators and leaves the configured upstreams alone
    // (a configured DATABASE_URL stays, with its fleet budget: the demo's Postgres workload is read-only SELECTs).
    const asked = flags.demo ? '--demo given' : 'POOLSCOPE_MODE=demo';
    fatal.warn(
      `poolscope: ${asked}, so the configured Supabase, OpenAI and Pinecone upstreams are ignored and the demo runs`,
    );
    config = {
      mode: 'demo',
      service: config.service,
      ...(config.database && { database: config.database }),
      ...(config.database?.fleetMaxConcurrent !== undefined && config.fleet && { fleet: config.fleet }),
    };
  }

  // Handlers go in before anything starts: a signal that finds none kills the process at once (the default
  // disposition), so one sent the moment the listening line is read could otherwise skip the drain.
  let service: RunningService | undefined;
  let stopping = false;
  const shutDown = (running: RunningService): void => {
    running.close().then(
      () => process.exit(0),
      (error: unknown) => fail(1, 'poolscope: shutdown failed', { err: error }),
    );
  };
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      fatal.fatal({ signal }, 'poolscope: second signal, exiting without draining');
      process.exit(1);
    }
    stopping = true;
    if (service) shutDown(service); // else: still starting; it shuts down as soon as it is up
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  try {
    service = await startService(config);
  } catch (error) {
    if (error instanceof ServiceListenError)
      fail(1, `poolscope: ${error.message}`, { code: error.code, systemCode: error.systemCode });
    throw error;
  }
  if (stopping) shutDown(service);
}

main().catch((error: unknown) => {
  // Anything unexpected; poolscope's own errors never carry a secret in their message.
  const { name, code } = error as { name?: unknown; code?: unknown };
  fail(1, `poolscope: failed to start (${String(code ?? name ?? 'unknown error')})`, { err: error });
});
