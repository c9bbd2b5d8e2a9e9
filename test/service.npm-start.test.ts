/**
 * The README's way to run the service, `npm start`, under a process manager that stops it by signalling the pid
 * it started: npm's. npm forwards the signal to its script's process only, so the script must be node itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanEnv } from './support/built-service.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let serverPid: number | undefined;
let npm: ChildProcess | undefined;

afterEach(() => {
  // If the server was orphaned, it is still running: end it by its own pid.
  for (const pid of [serverPid, npm?.pid]) {
    try {
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  serverPid = undefined;
  npm = undefined;
});

describe('npm start', () => {
  it('stops the server when npm is sent SIGTERM: nothing is left listening and npm exits 0', async () => {
    const child = spawn('npm', ['start'], {
      cwd: ROOT,
      env: cleanEnv({ PORT: '0' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    npm = child;
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    // 'close' comes once every copy of npm's stdout and stderr is closed; the server holds copies (it inherited
    // them), so 'close' means the server process is gone too, orphaned or not.
    const closed = once(child, 'close');

    const listening = new Promise<{ url: string; pid: number }>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (text) => {
        if (!text.startsWith('{')) return; // npm's own "> poolscope@x start" lines
        const line = JSON.parse(text) as { msg?: string; url?: string; pid?: number };
        if (line.msg?.startsWith('poolscope listening') && line.url && line.pid)
          resolve({ url: line.url, pid: line.pid });
      });
      void exited.then(() => reject(new Error(`npm start exited before the server listened; stderr: ${stderr}`)));
    });
    // `npm start` builds first (prestart).
    const { url, pid } = await within(listening, 60_000, 'the listening line');
    serverPid = pid;
    expect(pid).not.toBe(child.pid);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);

    child.kill('SIGTERM');
    const [code, signal] = await within(exited, 15_000, 'npm exiting');
    await within(closed, 15_000, `the server (pid ${pid}) exiting after npm did (exit ${code ?? signal})`);

    expect({ code, signal }).toEqual({ code: 0, signal: null });
    await expect(fetch(`${url}/metrics`)).rejects.toThrow();
  }, 90_000);
});
