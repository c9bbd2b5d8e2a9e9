/**
 * The real poolscope service, as `npm start` runs it (`node dist/src/bin/poolscope.js`), in demo mode: built
 * first when dist is missing or older than the sources, started on port 0 with a clean environment, its JSON log
 * lines kept, stopped with SIGTERM.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { REPO } from './assets.js';

export const SERVICE_BIN = 'dist/src/bin/poolscope.js';
/** What tsconfig.json compiles into dist (the demo imports the simulators of test/upstreams). */
const SOURCES = ['src', 'test/upstreams'];

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface DemoService {
  /** `http://127.0.0.1:<port>` from the listening line. */
  url: string;
  /** host:port, as Prometheus labels the instance. */
  target: string;
  child: ChildProcess;
  lines: LogLine[];
  stderr(): string;
  /** SIGTERM, then the exit (SIGKILL after 15 s); resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Newest modification time of a .ts file under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Runs `tsc -p tsconfig.json` (what `npm run build` runs) unless the built binary is newer than every source.
 * Returns whether it built. Another test may build into the same dist at the same time; tsc writes the same files.
 */
export async function buildIfStale(): Promise<boolean> {
  const bin = join(REPO, SERVICE_BIN);
  const sources = Math.max(...SOURCES.map((dir) => newestSource(join(REPO, dir))));
  if (existsSync(bin) && statSync(bin).mtimeMs >= sources) return false;
  await promisify(execFile)(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { cwd: REPO });
  return true;
}

/** The environment without any poolscope variable of the machine running the tests (so: demo mode). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(SUPABASE_|OPENAI_|PINECONE_|DATABASE_|POOL_PROFILE|POOLSCOPE_|MONITORING_TOKEN|METRICS_AUTH|HEALTH_|SHUTDOWN_|HOST$|PORT$|LOG_LEVEL)/.test(key)) {
      env[key] = value;
    }
  }
  return { ...env, ...extra };
}

/** Spawns the built service with `env` (plus PORT=0) and resolves once it logs its listening line. */
export async function startDemoService(env: Record<string, string> = {}, timeoutMs = 20_000): Promise<DemoService> {
  const child = spawn(process.execPath, [SERVICE_BIN], {
    cwd: REPO,
    env: cleanEnv({ PORT: '0', POOLSCOPE_MODE: 'demo', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = once(child, 'exit').then(([code]) => code as number | null);

  const listening = await new Promise<LogLine>((resolve, reject) => {
    const fail = (error: Error): void => {
      child.kill('SIGKILL');
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`poolscope did not log its listening line within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { level: 0, msg: text };
      }
      lines.push(line);
      if (typeof line.url === 'string' && line.msg.startsWith('poolscope listening')) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`poolscope exited (${code}) before listening; stderr: ${stderr}`));
    });
  });

  const url = listening.url as string;
  let stopping: Promise<number | null> | undefined;
  return {
    url,
    target: new URL(url).host,
    child,
    lines,
    stderr: () => stderr,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      })();
      return stopping;
    },
  };
}
