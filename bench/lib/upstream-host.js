/**
 * The benchmark's upstreams, in a child process of their own: on two cores the server gets one and the
 * client under test the other, so server work never shows up as client overhead, and the client's RSS
 * is the client's alone. Driven over IPC by `upstreams.js`.
 *
 * Kinds: `sim` (the shared wire simulator answering a small JSON row), `openai` and `supabase` (the API
 * simulators the real SDKs parse), and `fast` (a bare node:http server, for the overhead and memory runs,
 * where the server must cost as little as possible).
 */
import http from 'node:http';
import https from 'node:https';
import {
  json,
  selfSignedCert,
  startOpenAISimulator,
  startSimulator,
  startSupabaseSimulator,
} from '../../dist/simulators/index.js';

const ROW = { id: 1, user_id: 1, path: 'avatars/ada.png', size_bytes: 20480, status: 'done' };
const ROW_BODY = JSON.stringify([ROW]);

/** @type {Map<number, { url: string, origin: string, baseURL?: string, ca?: string, sim?: any, server?: http.Server, close(): Promise<void> }>} */
const upstreams = new Map();
let nextId = 1;

async function startFast(tls) {
  const cert = tls ? await selfSignedCert() : undefined;
  const listener = (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(ROW_BODY) });
      res.end(ROW_BODY);
    });
  };
  const server = cert ? https.createServer({ key: cert.key, cert: cert.cert }, listener) : http.createServer(listener);
  server.keepAliveTimeout = 10_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    url,
    origin: url,
    ca: cert?.cert,
    server,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve(undefined));
        server.closeAllConnections();
      }),
  };
}

/** The simulator's counters, plus what each API simulator adds. */
function statsOf(entry) {
  if (!entry.sim) return {};
  const stats = { ...entry.sim.stats };
  if (entry.sim.requestsByRole) stats.requestsByRole = { ...entry.sim.requestsByRole };
  return stats;
}

const methods = {
  async start({ kind, tls = false, behaviour = {}, keepAliveTimeoutMs }) {
    if (tls) await selfSignedCert();
    /** @type {any} */
    let entry;
    const common = { tls, behaviour, ...(keepAliveTimeoutMs !== undefined && { keepAliveTimeoutMs }) };
    if (kind === 'fast') entry = await startFast(tls);
    else {
      /** @type {any} the simulators' own fields (baseURL, anonKey) differ by kind */
      const sim =
        kind === 'openai'
          ? await startOpenAISimulator({ ...common, apiKey: 'sk-bench-not-a-real-key' })
          : kind === 'supabase'
            ? await startSupabaseSimulator(common)
            : await startSimulator({ name: 'bench', ...common, handler: () => json(200, [ROW]) });
      // 1000 connections at once: one 'change' listener per waiter is fine, but the default warning is noise.
      sim.setMaxListeners(0);
      entry = {
        url: sim.url,
        origin: sim.origin,
        ...(kind === 'openai' && { baseURL: sim.baseURL }),
        ...(kind === 'supabase' && { anonKey: sim.anonKey }),
        ca: sim.ca,
        sim,
        close: () => sim.close(),
      };
    }
    const id = nextId++;
    upstreams.set(id, entry);
    const { sim: _sim, server: _server, close: _close, ...info } = entry;
    return { id, ...info };
  },
  stats({ id }) {
    return statsOf(get(id));
  },
  resetStats({ id }) {
    get(id).sim.resetStats();
    return statsOf(get(id));
  },
  behave({ id, patch }) {
    get(id).sim.behave(patch);
    return null;
  },
  async waitForOpenSockets({ id, n, timeoutMs = 15_000 }) {
    await get(id).sim.waitForOpenSockets(n, { timeoutMs });
    return statsOf(get(id));
  },
  memory() {
    return process.memoryUsage();
  },
  async close({ id }) {
    const entry = upstreams.get(id);
    upstreams.delete(id);
    if (entry) await entry.close();
    return null;
  },
};

function get(id) {
  const entry = upstreams.get(id);
  if (!entry) throw new Error(`no upstream ${id}`);
  return entry;
}

process.on('message', async (/** @type {any} */ message) => {
  const { id, method, args } = message;
  try {
    const result = await methods[method](args ?? {});
    process.send({ id, result });
  } catch (error) {
    process.send({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
// The parent went away (finished, crashed or killed): never outlive it.
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
