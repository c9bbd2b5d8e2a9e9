/**
 * vitest setup file: a process warning or an unhandled rejection during a test fails that test, as pg-pool's own
 * suite does it (its test/setup.js ends the process on any `process.on('warning')`). A warning is a bug found:
 * `MaxListenersExceededWarning` is a listener leak, an unhandled rejection a promise nobody awaits.
 */
import { afterAll, afterEach } from 'vitest';

/**
 * Warnings a test provokes on purpose, by name and a part of the message, each with why. Keep it short: a warning
 * that is not here fails the test it happened in.
 */
const ALLOWED: ReadonlyArray<{ name: string; message: string; why: string }> = [];

const found: string[] = [];

function describe(kind: string, error: unknown): string {
  if (!(error instanceof Error)) return `${kind}: ${String(error)}`;
  return `${kind}: ${error.name}: ${error.message}\n${error.stack?.split('\n').slice(1, 8).join('\n') ?? ''}`;
}

process.on('warning', (warning) => {
  if (ALLOWED.some((a) => warning.name === a.name && warning.message.includes(a.message))) return;
  found.push(describe('process warning', warning));
});

// vitest reports an unhandled rejection for the whole run; recording it here also fails the test it happened in.
process.on('unhandledRejection', (reason) => {
  found.push(describe('unhandled rejection', reason));
});

function fail(when: string): void {
  if (found.length === 0) return;
  const report = found.splice(0).join('\n\n');
  throw new Error(`${when} printed a process warning or left a rejection unhandled:\n\n${report}`);
}

// Node emits a warning on the tick after the code that caused it: one turn of the event loop lets it arrive.
afterEach(async () => {
  await new Promise((resolve) => setImmediate(resolve));
  fail('This test');
});

afterAll(async () => {
  await new Promise((resolve) => setImmediate(resolve));
  fail('This file (after its last test)');
});
