/**
 * The real poolscope service, as `npm start` runs it (`node dist/bin/poolscope.js`), in demo mode: built
 * first when dist is missing or older than the sources, started on port 0 with a clean environment, its JSON log
 * lines kept, stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { cleanEnv } from '../support/built-service.js';
import { REPO } from './assets.js';

export { buildIfStale } from '../support/built-service.js';

export const SERVICE_BIN = 'dist/bin/poolscope.js';

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
    const timer = setTimeout(
      () => fail(new Error(`poolscope did not log its listening line within ${timeoutMs} ms; stderr: ${stderr}`)),
      timeoutMs,
    );
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
