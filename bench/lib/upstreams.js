/**
 * The parent side of `upstream-host.js`: starts the host process and calls it over IPC. Every upstream lives
 * on 127.0.0.1 with a port of its own, so each variant of a scenario gets a fresh one and its socket counts
 * are its own.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const HOST = fileURLToPath(new URL('./upstream-host.js', import.meta.url));

/**
 * @typedef {object} Upstream
 * @property {number} id
 * @property {string} url
 * @property {string} origin
 * @property {string} [baseURL]
 * @property {string} [anonKey]
 * @property {string} [ca]
 * @property {() => Promise<Record<string, number>>} stats
 * @property {() => Promise<Record<string, number>>} resetStats
 * @property {(patch: object) => Promise<void>} behave
 * @property {(n: number) => Promise<Record<string, number>>} waitForOpenSockets
 * @property {() => Promise<void>} close
 */

export async function startUpstreamHost() {
  const child = fork(HOST, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  const pending = new Map();
  let nextCall = 1;
  let exited = false;
  await new Promise((resolve, reject) => {
    const onMessage = (message) => {
      if (message?.ready) {
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(undefined);
      }
    };
    const onExit = (code) => reject(new Error(`upstream host exited (${code}) before it was ready`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
  child.on('message', (/** @type {any} */ message) => {
    const call = pending.get(message.id);
    if (!call) return;
    pending.delete(message.id);
    if (message.error) call.reject(new Error(`upstream host: ${message.error}`));
    else call.resolve(message.result);
  });
  child.once('exit', (code) => {
    exited = true;
    for (const call of pending.values()) call.reject(new Error(`upstream host exited (${code})`));
    pending.clear();
  });

  /** @returns {Promise<any>} */
  const call = (method, args) =>
    new Promise((resolve, reject) => {
      if (exited) return reject(new Error('upstream host is gone'));
      const id = nextCall++;
      pending.set(id, { resolve, reject });
      child.send({ id, method, args });
    });

  return {
    /**
     * @param {{ kind?: 'sim' | 'openai' | 'supabase' | 'fast', tls?: boolean, behaviour?: object, keepAliveTimeoutMs?: number }} options
     * @returns {Promise<Upstream>}
     */
    async start(options) {
      const info = await call('start', { kind: 'sim', ...options });
      const id = info.id;
      return {
        ...info,
        stats: () => call('stats', { id }),
        resetStats: () => call('resetStats', { id }),
        behave: (patch) => call('behave', { id, patch }),
        waitForOpenSockets: (n) => call('waitForOpenSockets', { id, n }),
        close: () => call('close', { id }),
      };
    },
    /** The host's own memory (it is a separate process: never part of the client's figures). */
    memory: () => call('memory', {}),
    async close() {
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/**
 * Starts an upstream, runs `fn` with it, and closes it whatever happens.
 * @template T
 * @param {Awaited<ReturnType<typeof startUpstreamHost>>} host
 * @param {Parameters<Awaited<ReturnType<typeof startUpstreamHost>>['start']>[0]} options
 * @param {(upstream: Upstream) => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function withUpstream(host, options, fn) {
  const upstream = await host.start(options);
  try {
    return await fn(upstream);
  } finally {
    await upstream.close();
  }
}
