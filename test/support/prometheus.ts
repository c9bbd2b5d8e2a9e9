/**
 * Real Prometheus and Alertmanager for tests: spawned on 127.0.0.1:0 with a fresh temp dir, the port read from
 * their own `msg="Listening on" address=...` log line, readiness from `/-/ready`, killed and cleaned up after.
 * Point `startPrometheus` at any `/metrics` (test/operations points it at the real service in demo mode).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { stringify } from 'yaml';

export const INSTALL_HINT = 'apt-get install -y --no-install-recommends prometheus prometheus-alertmanager';

/** Debian's names; upstream tarballs call Alertmanager `alertmanager`. */
export const BINARIES = {
  prometheus: ['prometheus'],
  promtool: ['promtool'],
  alertmanager: ['prometheus-alertmanager', 'alertmanager'],
  amtool: ['amtool'],
} as const;
export type BinaryName = keyof typeof BINARIES;

/** Absolute path of the first of `names` on PATH, or undefined. */
export function findBinary(name: BinaryName): string | undefined {
  for (const candidate of BINARIES[name]) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (!dir) continue;
      const path = join(dir, candidate);
      try {
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/**
 * Whether the binaries are installed. Missing outside CI: one loud line and `false` (callers skip). Missing
 * with CI=true: throws, because CI installs them and a silent skip would hide every operations test.
 */
export function hasBinaries(...names: BinaryName[]): boolean {
  const missing = names.filter((name) => findBinary(name) === undefined);
  if (missing.length === 0) return true;
  const message = `Prometheus stack missing (${missing.join(', ')}): install with \`${INSTALL_HINT}\``;
  if (process.env.CI === 'true') throw new Error(`${message} — required when CI=true`);
  console.warn(`\n!!! SKIPPING operations tests: ${message}\n`);
  return false;
}

/**
 * Runs a binary to completion; stdout and stderr kept apart (`promtool test rules` reports on stderr). `input`
 * goes to its stdin (`promtool check metrics` reads the exposition from there).
 */
export function run(
  name: BinaryName,
  args: string[],
  cwd?: string,
  input?: string,
): { status: number | null; stdout: string; stderr: string } {
  const path = findBinary(name);
  if (!path) throw new Error(`${name} not found: ${INSTALL_HINT}`);
  const result = spawnSync(path, args, {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    ...(input !== undefined && { input }),
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export interface RunningBinary {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The temp dir holding config, storage and any extra files; removed by `stop()`. */
  dir: string;
  /** Everything the process logged so far (for failure messages). */
  logs(): string;
  /** SIGHUP: re-reads the config file; resolves once the process logs that it completed loading it. */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RunningPrometheus extends RunningBinary {
  /** Writes a new prometheus.yml (object or YAML text) and reloads it. */
  reconfigure(config: unknown): Promise<void>;
  /** Instant query; throws on a PromQL error. */
  query(expr: string): Promise<PromSample[]>;
  /** `/api/v1/<path>` `data`, e.g. `targets`, `rules`, `alerts`, `label/pool/values`. */
  api<T = unknown>(path: string): Promise<T>;
}

export interface StartPrometheusOptions {
  /** prometheus.yml, as an object or YAML text. Relative rule_files resolve against the temp dir. */
  config: unknown;
  /** Extra files to write into the temp dir first (relative path → content), e.g. rule files. */
  files?: Record<string, string>;
  args?: string[];
  readyTimeoutMs?: number;
}

export async function startPrometheus(options: StartPrometheusOptions): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'poolscope-prometheus-'));
  await writeFiles(dir, { ...options.files, 'prometheus.yml': asYaml(options.config) });
  const started = await startBinary(
    'prometheus',
    dir,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      '--web.listen-address=127.0.0.1:0',
      '--web.external-url=http://127.0.0.1/',
      ...(options.args ?? []),
    ],
    options.readyTimeoutMs,
  );
  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${started.url}/api/v1/${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus /api/v1/${path}: ${body.error ?? response.status}`);
    return body.data;
  };
  return {
    ...started,
    async reconfigure(config) {
      await writeFile(join(dir, 'prometheus.yml'), asYaml(config));
      await started.reload();
    },
    api,
    async query(expr) {
      const data = await api<{ resultType: string; result: PromSample[] }>(`query?query=${encodeURIComponent(expr)}`);
      if (data.resultType !== 'vector') throw new Error(`expected a vector from ${expr}, got ${data.resultType}`);
      return data.result;
    },
  };
}

export interface StartAlertmanagerOptions {
  /** alertmanager.yml, as an object or YAML text. */
  config: unknown;
  readyTimeoutMs?: number;
}

export async function startAlertmanager(options: StartAlertmanagerOptions): Promise<RunningBinary> {
  const dir = await mkdtemp(join(tmpdir(), 'poolscope-alertmanager-'));
  await writeFiles(dir, { 'alertmanager.yml': asYaml(options.config) });
  return startBinary(
    'alertmanager',
    dir,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      '--web.listen-address=127.0.0.1:0',
      '--web.external-url=http://127.0.0.1/',
      // No gossip: a lone test instance must not bind 9094 or look for peers.
      '--cluster.listen-address=',
    ],
    options.readyTimeoutMs,
  );
}

async function startBinary(
  name: BinaryName,
  dir: string,
  args: string[],
  readyTimeoutMs = 20_000,
): Promise<RunningBinary> {
  const path = findBinary(name);
  if (!path) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${name} not found: ${INSTALL_HINT}`);
  }
  const child = spawn(path, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      await terminate(child);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} did not log its address within ${readyTimeoutMs} ms`)),
        readyTimeoutMs,
      );
      const onData = (chunk: Buffer): void => {
        logs += chunk.toString('utf8');
        const match = /msg="Listening on" address=(?:\[[^\]]*\]|[^\s:]+):(\d+)/.exec(logs);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? signal}) before listening`));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}) before it was ready`);
        const response = await fetch(`${url}/-/ready`).catch(() => undefined);
        await response?.body?.cancel();
        return response?.status === 200;
      },
      { timeoutMs: readyTimeoutMs, what: `${name} /-/ready` },
    );
    const reload = async (): Promise<void> => {
      const completed = (): number => logs.split('msg="Completed loading of configuration file"').length;
      const failed = (): number => logs.split('msg="Error reloading config"').length;
      const [before, failedBefore] = [completed(), failed()];
      child.kill('SIGHUP');
      await waitUntil(
        () => {
          if (failed() > failedBefore) throw new Error(`${name} rejected the new configuration:\n${logs}`);
          return completed() > before;
        },
        { timeoutMs: 10_000, intervalMs: 20, what: `${name} to reload its configuration` },
      );
    };
    return { url, port, dir, logs: () => logs, reload, stop };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n--- ${name} log ---\n${logs}`, { cause: error });
  }
}

/** SIGTERM, then SIGKILL if it lingers; resolves once the process is gone. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Polls `check` until it returns true. For conditions nothing announces (Prometheus has scraped, a rule has
 * been evaluated); never a fixed sleep. The last error or `describe()` goes into the timeout message.
 */
export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  options: { timeoutMs: number; intervalMs?: number; what: string; describe?: () => string | Promise<string> },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = options.describe ? await options.describe() : lastError ? String(lastError) : '';
      throw new Error(
        `timed out after ${options.timeoutMs} ms waiting for ${options.what}${detail ? `: ${detail}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
  }
}

export interface WebhookNotification {
  path: string;
  /** Epoch milliseconds when the receiver got it. */
  receivedAt: number;
  body: {
    receiver: string;
    status: 'firing' | 'resolved';
    groupLabels: Record<string, string>;
    commonLabels: Record<string, string>;
    alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string> }>;
  };
}

export interface WebhookReceiver {
  url: string;
  notifications: WebhookNotification[];
  /** Resolves with the first notification (already received or future) that `match` accepts. */
  waitFor(match: (notification: WebhookNotification) => boolean, timeoutMs: number): Promise<WebhookNotification>;
  close(): Promise<void>;
}

/** An Alertmanager webhook receiver on 127.0.0.1:0 that keeps every notification. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const notifications: WebhookNotification[] = [];
  const waiters = new Set<(notification: WebhookNotification) => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const notification = {
        path: req.url ?? '/',
        receivedAt: Date.now(),
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      } as WebhookNotification;
      notifications.push(notification);
      for (const waiter of waiters) waiter(notification);
      res.writeHead(200).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    notifications,
    waitFor(match, timeoutMs) {
      const seen = notifications.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(`no matching webhook notification within ${timeoutMs} ms; got ${JSON.stringify(notifications)}`),
          );
        }, timeoutMs);
        const waiter = (notification: WebhookNotification): void => {
          if (!match(notification)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(notification);
        };
        waiters.add(waiter);
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function asYaml(config: unknown): string {
  return typeof config === 'string' ? config : stringify(config);
}

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [relative, content] of Object.entries(files)) {
    const path = join(dir, relative);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
}
