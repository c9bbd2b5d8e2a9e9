/**
 * `npm run bench` in its short form: the harness runs every scenario and writes results a reader and a
 * script can use. Timings are never asserted here (machines are noisy); docs/performance.md has the figures.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIfStale } from './support/built-service.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCENARIOS = ['reuse', 'burst', 'capped', 'overhead', 'scrape', 'memory', 'sdk', 'fleet', 'flat'];

interface Scenario {
  title: string;
  durationMs: number;
  error?: string;
  params?: Record<string, unknown>;
  results: Array<Record<string, unknown>>;
  summary: Record<string, unknown>;
  table: { headers: string[]; rows: unknown[][] };
}

interface Results {
  mode: string;
  durationMs: number;
  machine: { cpuModel: string; cpuCount: number; node: string; date: string };
  scenarios: Record<string, Scenario>;
}

/** Every number in a row, nested objects included (error counts by code). */
function numbersIn(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(numbersIn);
  return [];
}

describe('npm run bench --quick', () => {
  let out: string;
  let exitCode: number;
  let stdout = '';
  let stderr = '';

  beforeAll(async () => {
    await buildIfStale();
    out = mkdtempSync(join(tmpdir(), 'poolscope-bench-'));
    await new Promise<void>((resolve) => {
      execFile(
        process.execPath,
        ['--expose-gc', 'bench/run.js', '--quick', '--out', out],
        { cwd: ROOT, timeout: 120_000, maxBuffer: 16 * 2 ** 20 },
        (error, out1, err1) => {
          exitCode = error ? ((error as { code?: number }).code ?? 1) : 0;
          stdout = out1;
          stderr = err1;
          resolve();
        },
      );
    });
  }, 180_000);

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('exits 0 after running every scenario', () => {
    expect(exitCode, stderr).toBe(0);
  });

  it('writes latest.json with the machine and every scenario, each with numeric results and no error', () => {
    const results = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Results;
    expect(results.mode).toBe('quick');
    expect(results.machine.cpuCount).toBeGreaterThan(0);
    expect(results.machine.node).toBe(process.version);
    expect(results.machine.cpuModel).not.toBe('');
    expect(Number.isNaN(Date.parse(results.machine.date))).toBe(false);
    expect(Object.keys(results.scenarios).sort()).toEqual([...SCENARIOS].sort());
    for (const id of SCENARIOS) {
      const scenario = results.scenarios[id]!;
      expect(scenario.error, `${id}: ${scenario.error}`).toBeUndefined();
      expect(scenario.durationMs, id).toBeGreaterThanOrEqual(0);
      expect(scenario.results.length, id).toBeGreaterThan(0);
      for (const row of scenario.results) {
        const numbers = numbersIn(row);
        expect(numbers.length, `${id}: ${JSON.stringify(row)}`).toBeGreaterThan(0);
        for (const n of numbers) expect(Number.isFinite(n), `${id}: ${JSON.stringify(row)}`).toBe(true);
      }
      expect(numbersIn(scenario.summary).length, id).toBeGreaterThan(0);
      expect(scenario.table.rows.length, id).toBeGreaterThan(0);
    }
  });

  it('writes latest.md with a table per scenario and prints the same text', () => {
    const markdown = readFileSync(join(out, 'latest.md'), 'utf8');
    const results = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Results;
    for (const id of SCENARIOS) {
      const scenario = results.scenarios[id]!;
      expect(markdown).toContain(scenario.title);
      expect(markdown).toContain(`| ${scenario.table.headers.join(' | ')} |`);
    }
    expect(markdown).toContain(`Node ${process.version}`);
    expect(stdout).toBe(markdown);
  });
});
