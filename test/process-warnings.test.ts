/**
 * The suite's own guard (test/support/process-warnings.setup.ts): a test that prints a process warning or leaves
 * a rejection unhandled fails, naming the warning. Run on files that misbehave on purpose, in a vitest of their own.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const CONFIG = fileURLToPath(new URL('./support/warnings/vitest.config.ts', import.meta.url));
const VITEST = createRequire(import.meta.url).resolve('vitest/vitest.mjs');

interface Outcome {
  status: string;
  failureMessages: string[];
}

describe('a process warning during a test', () => {
  const outcomes = new Map<string, Outcome>();

  beforeAll(async () => {
    const stdout = await new Promise<string>((resolve) =>
      execFile(
        process.execPath,
        [VITEST, 'run', '--config', CONFIG, '--reporter=json'],
        { timeout: 60_000 },
        (_e, out) => resolve(out),
      ),
    );
    const report = JSON.parse(stdout) as {
      testResults: Array<{ assertionResults: Array<Outcome & { title: string }> }>;
    };
    for (const file of report.testResults) for (const test of file.assertionResults) outcomes.set(test.title, test);
  }, 90_000);

  it('fails the test that caused a MaxListenersExceededWarning, naming it', () => {
    const outcome = outcomes.get('adds an 11th error listener to one emitter');
    expect(outcome?.status).toBe('failed');
    expect(outcome?.failureMessages.join('\n')).toContain('MaxListenersExceededWarning');
  });

  it('fails the test that left a rejection unhandled, with its reason', () => {
    const outcome = outcomes.get('leaves a rejection unhandled');
    expect(outcome?.status).toBe('failed');
    expect(outcome?.failureMessages.join('\n')).toContain('nobody awaits this');
  });

  it('passes a test that stays within the limits', () => {
    expect(outcomes.get('adds ten listeners, within the limit')?.status).toBe('passed');
  });
});
