import type { Logger } from 'pino';
import type { Clients } from '../clients/index.js';
import { PoolConfigError } from '../errors/index.js';

export interface WorkloadOptions {
  /** Baseline requests per second, all upstreams together. */
  ratePerSecond: number;
  /** Seconds between bursts. */
  burstEverySeconds: number;
  /** Requests in one burst, sent at once to one upstream: enough to fill its pool and queue the rest. */
  burstSize: number;
  /** Most requests the workload keeps in flight at once; a tick that finds this many skips its request. */
  maxInFlight: number;
  /** Dimension of the demo index's vectors. */
  vectorDimension: number;
}

export interface BurstHooks {
  /** Called before a burst at `upstream` (the demo slows that simulator so the burst holds the pool longer). */
  beforeBurst?(upstream: DemoUpstream): void;
  afterBurst?(upstream: DemoUpstream): void;
}

export type DemoUpstream = 'supabase' | 'openai' | 'pinecone' | 'postgres';

export interface DemoWorkload {
  /** Requests started and failed so far (failures are part of the demo: 429s, 5xx, timeouts). */
  readonly counts: { started: number; failed: number; bursts: number };
  /** Stops starting requests and waits for those in flight until `deadline` (epoch ms). */
  stop(deadline: number): Promise<void>;
}

type Operation = {
  upstream: DemoUpstream;
  name: string;
  weight: number;
  run: (signal: AbortSignal) => Promise<unknown>;
};

/**
 * A steady, bounded stream of real SDK calls through the service's own clients, with periodic bursts at one
 * upstream at a time, so every pool metric, queue and alert has live data.
 */
export function startWorkload(
  clients: Clients,
  options: WorkloadOptions,
  logger: Logger,
  hooks: BurstHooks = {},
): DemoWorkload {
  const operations = demoOperations(clients, options.vectorDimension, logger);
  // Aborts whatever the workload still has queued or streaming at shutdown (Pinecone's SDK takes no signal).
  const abort = new AbortController();
  const total = operations.reduce((sum, op) => sum + op.weight, 0);
  const inFlight = new Set<Promise<void>>();
  const counts = { started: 0, failed: 0, bursts: 0 };
  let stopped = false;

  const launch = (op: Operation): Promise<void> => {
    counts.started++;
    const run = op
      .run(abort.signal)
      .then(
        () => undefined,
        (error: unknown) => {
          if (abort.signal.aborted) return;
          counts.failed++;
          logger.debug(
            { upstream: op.upstream, operation: op.name, error: failureSummary(error) },
            'demo request failed',
          );
        },
      )
      .finally(() => inFlight.delete(run));
    inFlight.add(run);
    return run;
  };

  const pick = (): Operation => {
    let roll = Math.random() * total;
    for (const op of operations) if ((roll -= op.weight) < 0) return op;
    return operations[operations.length - 1]!;
  };

  const steady = setInterval(() => {
    if (!stopped && inFlight.size < options.maxInFlight && operations.length > 0) void launch(pick());
  }, 1000 / options.ratePerSecond);

  const upstreams = [...new Set(operations.map((op) => op.upstream))];
  let bursting = false;
  const burst = async (): Promise<void> => {
    const upstream = upstreams[counts.bursts % upstreams.length];
    // One burst at a time: with the steady cap, the workload never has more than maxInFlight + burstSize out.
    if (stopped || bursting || upstream === undefined) return;
    bursting = true;
    counts.bursts++;
    const candidates = operations.filter((op) => op.upstream === upstream);
    logger.info(
      { upstream, requests: options.burstSize },
      `demo burst: ${options.burstSize} concurrent requests to ${upstream}`,
    );
    hooks.beforeBurst?.(upstream);
    const mine: Array<Promise<void>> = [];
    for (let i = 0; i < options.burstSize && !stopped; i++) mine.push(launch(candidates[i % candidates.length]!));
    await Promise.all(mine);
    bursting = false;
    hooks.afterBurst?.(upstream);
  };
  // The first burst comes early, so a fresh demo shows a saturated pool within seconds.
  const firstBurst = setTimeout(() => void burst(), 3_000);
  const bursts = setInterval(() => void burst(), options.burstEverySeconds * 1000);

  const summary = setInterval(() => logger.info({ ...counts, inFlight: inFlight.size }, 'demo workload'), 30_000);

  return {
    counts,
    async stop(deadline) {
      stopped = true;
      clearInterval(steady);
      clearTimeout(firstBurst);
      clearInterval(bursts);
      clearInterval(summary);
      abort.abort();
      const late = new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref());
      await Promise.race([Promise.allSettled([...inFlight]), late]);
    },
  };
}

function demoOperations(clients: Clients, dimension: number, logger: Logger): Operation[] {
  const ops: Operation[] = [];
  // The demo drives what is installed: `npx poolscope` in an app with one SDK still shows every pool (they need
  // none), and the traffic of the SDKs it has.
  const missing = new Set<string>();
  const installed = <T>(read: () => T | undefined): T | undefined => {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof PoolConfigError)) throw error;
      if (missing.has(error.option)) return undefined;
      missing.add(error.option);
      logger.warn({ package: error.option }, `demo: no traffic through ${error.option}: ${error.problem}`);
      return undefined;
    }
  };
  const supabase = installed(() => clients.sdk.supabase);
  const supabaseAdmin = installed(() => clients.sdk.supabaseAdmin);
  const openai = installed(() => clients.sdk.openai);
  const pinecone = installed(() => clients.sdk.pinecone);
  const vector = () => Array.from({ length: dimension }, () => Math.random());
  // Upserts overwrite a bounded set of ids, so a long-running demo index stays small.
  let upserts = 0;

  if (supabaseAdmin) {
    ops.push({
      upstream: 'supabase',
      name: 'select',
      weight: 30,
      run: (signal) =>
        supabaseResult(supabaseAdmin.from('uploads').select('id,path,status').limit(10).abortSignal(signal)),
    });
    ops.push({
      upstream: 'supabase',
      name: 'insert',
      weight: 8,
      run: (signal) =>
        supabaseResult(
          supabaseAdmin
            .from('uploads')
            .insert({ user_id: 1, path: `demo/${Date.now()}.txt`, size_bytes: 1024, status: 'pending' })
            .select()
            .abortSignal(signal),
        ),
    });
  }
  if (supabase) {
    ops.push({
      upstream: 'supabase',
      name: 'select_anon',
      weight: 8,
      run: (signal) => supabaseResult(supabase.from('users').select('id,email').limit(5).abortSignal(signal)),
    });
  }
  if (openai) {
    ops.push({
      upstream: 'openai',
      name: 'chat_stream',
      weight: 14,
      run: async (signal) => {
        const stream = await openai.chat.completions.create(
          {
            model: 'gpt-4o-mini',
            messages: [{ role: 'user', content: 'Summarise connection pooling in one sentence.' }],
            stream: true,
            stream_options: { include_usage: true },
          },
          { signal },
        );
        for await (const chunk of stream) void chunk;
      },
    });
    ops.push({
      upstream: 'openai',
      name: 'chat',
      weight: 5,
      run: (signal) =>
        openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hello' }] }, { signal }),
    });
    ops.push({
      upstream: 'openai',
      name: 'embeddings',
      weight: 8,
      run: (signal) =>
        openai.embeddings.create({ model: 'text-embedding-3-small', input: 'bounded pools' }, { signal }),
    });
  }
  if (pinecone) {
    ops.push({
      upstream: 'pinecone',
      name: 'query',
      weight: 18,
      run: async () => (await clients.pineconeIndex()).query({ topK: 3, vector: vector(), includeMetadata: true }),
    });
    ops.push({
      upstream: 'pinecone',
      name: 'upsert',
      weight: 5,
      run: async () =>
        (await clients.pineconeIndex()).upsert({ records: [{ id: `demo-${upserts++ % 100}`, values: vector() }] }),
    });
  }
  const postgres = clients.handles.postgres;
  if (postgres) {
    ops.push({ upstream: 'postgres', name: 'select', weight: 10, run: () => postgres.query('SELECT pg_sleep(0.005)') });
    ops.push({
      upstream: 'postgres',
      name: 'list_uploads',
      weight: 4,
      run: () => postgres.run('list_uploads', (client) => client.query('SELECT n FROM generate_series(1, 10) AS n')),
    });
    // Only bursts pick it (weight 0): slow queries that hold the small demo pool's connections.
    ops.push({
      upstream: 'postgres',
      name: 'slow_report',
      weight: 0,
      run: () => postgres.run('slow_report', (c) => c.query('SELECT pg_sleep(0.6)')),
    });
  }
  return ops;
}

/** supabase-js resolves with `{ error }` instead of throwing: turn it into a failure the workload counts. */
async function supabaseResult(query: PromiseLike<{ error: unknown }>): Promise<void> {
  const { error } = await query;
  if (error) throw error;
}

/** Name, code and status of a failed demo request, for the debug log. */
function failureSummary(error: unknown): string {
  const { name, code, status } = error as { name?: unknown; code?: unknown; status?: unknown };
  return [name, code, status].filter((part) => part !== undefined).join(' ');
}
