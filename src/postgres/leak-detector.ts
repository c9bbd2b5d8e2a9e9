import { fileURLToPath } from 'node:url';

/** The Postgres module's own directory (source or build): its frames are never where the app asked. */
const OWN_DIR = fileURLToPath(new URL('.', import.meta.url));
const OWN_URL = new URL('.', import.meta.url).href;

/**
 * One checkout of a client, from pg's `acquire` event to its `release` event: what leak detection keeps of it —
 * when it began, the timer that reports it, and where the app asked for the client.
 */
export interface Checkout {
  acquiredAt: number;
  timer: NodeJS.Timeout | undefined;
  /** Captured at checkout, formatted only if a leak is reported (V8 formats stacks lazily). */
  stack: StackHolder | undefined;
  leaked: boolean;
  warmup: boolean;
}

export interface StackHolder {
  stack?: string;
}

export function captureStack(): StackHolder {
  const holder: StackHolder = {};
  Error.captureStackTrace(holder, captureStack);
  return holder;
}

/** Where the app asked for the client, without poolscope's own frames on top. */
export function formatStack(holder: StackHolder): string | undefined {
  return holder.stack
    ?.split('\n')
    .slice(1)
    .filter(
      (frame) => !frame.includes(OWN_DIR) && !frame.includes(OWN_URL) && !frame.includes('new Promise (<anonymous>)'),
    )
    .join('\n');
}
