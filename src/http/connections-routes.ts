import { Router, type Response } from 'express';
import type { PoolManagerFacade, HealthCheckResult, OpenAIFacade, QueueStatus } from '../clients/types.js';
import { PoolConfigError } from '../errors/index.js';
import { methodNotAllowed, sendError } from './errors.js';
import type { MonitoringSource } from './source.js';

/**
 * The facades behind `/api/connections/<name>/...`: `database` is the
 * `DatabasePool` (Supabase's REST pool when Supabase is configured, else the direct Postgres pool); `supabase`
 * and `postgres` are each pool by its own name; `pinecone` is the Pinecone equivalent.
 */
export const FACADE_NAMES = ['database', 'supabase', 'postgres', 'openai', 'pinecone'] as const;
export type FacadeName = (typeof FACADE_NAMES)[number];

type AnyFacade = PoolManagerFacade | OpenAIFacade | PoolManagerFacade;

/** The `/api/connections/*` envelope. */
export interface SuccessBody<T> {
  success: true;
  data: T;
}

/** One facade's entry in `GET /api/connections/stats` and the body of `GET /api/connections/<name>/stats`. */
export interface FacadeStatsView<Stats, Config> {
  stats: Stats;
  config: Config;
  queue: QueueStatus;
}

export type HealthView<Stats> = HealthCheckResult & { stats: Stats };

const HOW_TO_CONFIGURE: Record<FacadeName, string> = {
  database: 'set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY or SUPABASE_ANON_KEY, or DATABASE_URL',
  supabase: 'set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY or SUPABASE_ANON_KEY',
  postgres: 'set DATABASE_URL and install pg',
  openai: 'set OPENAI_API_KEY',
  pinecone: 'set PINECONE_API_KEY and PINECONE_INDEX_HOST or PINECONE_INDEX_NAME',
};

const TITLES: Record<FacadeName, string> = {
  database: 'Database',
  supabase: 'Supabase',
  postgres: 'Postgres',
  openai: 'OpenAI',
  pinecone: 'Pinecone',
};

/**
 * `/api/connections/*`, relative to that prefix (the caller puts auth in front): every facade
 * gets `stats`, `health`, `queue` and `POST reset-stats`; a facade that is not configured answers 404
 * `NOT_CONFIGURED` saying which variables to set.
 */
export function connectionsRoutes(source: MonitoringSource): Router {
  const router = Router();

  router
    .route('/stats')
    .get((_req, res) => {
      const data: Partial<Record<FacadeName, FacadeStatsView<unknown, unknown>>> = {};
      for (const name of FACADE_NAMES) {
        const facade = source[name];
        if (facade === undefined) continue;
        try {
          data[name] = statsView(facade);
        } catch (error) {
          // A configured pool that cannot exist (DATABASE_URL without pg): its own routes say why.
          if (!(error instanceof PoolConfigError)) throw error;
        }
      }
      ok(res, data);
    })
    .all(methodNotAllowed(['GET']));

  for (const name of FACADE_NAMES) {
    const withFacade =
      (handle: (facade: AnyFacade, res: Response) => Promise<void> | void) =>
      async (_req: unknown, res: Response): Promise<void> => {
        const facade = source[name];
        if (facade === undefined) {
          sendError(res, 404, 'NOT_CONFIGURED', `The ${name} pool is not configured: ${HOW_TO_CONFIGURE[name]}`);
          return;
        }
        try {
          await handle(facade, res);
        } catch (error) {
          if (!(error instanceof PoolConfigError)) throw error;
          // Configured, but its pool cannot exist (DATABASE_URL without pg): the message says what to install.
          sendError(res, 503, 'NOT_CONFIGURED', error.message);
        }
      };

    router
      .route(`/${name}/stats`)
      .get(withFacade((facade, res) => ok(res, statsView(facade))))
      .all(methodNotAllowed(['GET']));

    router
      .route(`/${name}/health`)
      .get(
        withFacade(async (facade, res) => {
          const health: HealthView<unknown> = await facade.healthCheck();
          // Usable as a probe: the status code says what `healthy` says.
          res.status(health.healthy ? 200 : 503);
          ok(res, health);
        }),
      )
      .all(methodNotAllowed(['GET']));

    router
      .route(`/${name}/queue`)
      .get(withFacade((facade, res) => ok(res, facade.getQueueStatus())))
      .all(methodNotAllowed(['GET']));

    router
      .route(`/${name}/reset-stats`)
      .post(
        withFacade((facade, res) => {
          facade.resetStats();
          ok(res, { message: `${TITLES[name]} statistics reset`, stats: facade.getStats() });
        }),
      )
      .all(methodNotAllowed(['POST']));
  }
  return router;
}

function statsView(facade: AnyFacade): FacadeStatsView<unknown, unknown> {
  return { stats: facade.getStats(), config: facade.getPoolConfig(), queue: facade.getQueueStatus() };
}

function ok<T>(res: Response, data: T): void {
  const body: SuccessBody<T> = { success: true, data };
  res.set('Cache-Control', 'no-store').json(body);
}
