/** scripts/generate-ops-assets.mjs: one run writes (or checks) the alert rules, the recording rules and the dashboard. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_FILE, renderDashboard } from '../../src/health/dashboard.js';
import { RECORDING_RULES_FILE, renderRecordingRules } from '../../src/health/recording-rules.js';
import { ALERT_RULES_FILE, renderAlertRules } from '../../src/health/render-rules.js';
import { THRESHOLDS } from '../../src/health/thresholds.js';
import { buildIfStale } from '../support/built-service.js';
import { REPO } from './assets.js';

const FILES = [ALERT_RULES_FILE, RECORDING_RULES_FILE, DASHBOARD_FILE];

async function generate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['scripts/generate-ops-assets.mjs', ...args],
      { cwd: REPO },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('scripts/generate-ops-assets.mjs', () => {
  let dir: string;
  beforeAll(async () => {
    await buildIfStale();
    dir = mkdtempSync(join(tmpdir(), 'poolscope-assets-'));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the committed alert rules, recording rules and dashboard up to date with the defaults', async () => {
    const result = await generate(['--check']);
    expect(result.code, result.stderr).toBe(0);
    for (const file of FILES) expect(result.stdout).toContain(`${join(REPO, file)} is up to date`);
  }, 30_000);

  it('passes --selector, --target-selector and --runbook-base-url to all three renderers, under --out', async () => {
    const options = {
      selector: 'job="api", env="prod"',
      targetSelector: 'job="api"',
      runbookBaseUrl: 'https://wiki.example.com/runbooks/',
    };
    const result = await generate([
      '--selector',
      options.selector,
      '--target-selector',
      options.targetSelector,
      '--runbook-base-url',
      options.runbookBaseUrl,
      '--out',
      dir,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const read = (file: string) => readFileSync(join(dir, file), 'utf8');
    expect(read(ALERT_RULES_FILE)).toBe(renderAlertRules(THRESHOLDS, options));
    expect(read(RECORDING_RULES_FILE)).toBe(renderRecordingRules(options));
    expect(read(DASHBOARD_FILE)).toBe(renderDashboard(THRESHOLDS, options));
    expect(read(RECORDING_RULES_FILE)).toContain('poolscope_pool_connections_max{job="api", env="prod"}');
    expect(read(DASHBOARD_FILE)).toContain('https://wiki.example.com/runbooks/');

    // Checked against the defaults, every one of them is out of date, and --check says which.
    const check = await generate(['--check', '--out', dir]);
    expect(check.code).toBe(1);
    for (const file of FILES) expect(check.stderr).toContain(`${join(dir, file)} is out of date`);
  }, 30_000);

  it('refuses a selector that is not label matchers, naming the option, and writes nothing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'poolscope-assets-bad-'));
    try {
      const result = await generate(['--selector', 'job=api', '--out', empty]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/selector must be PromQL label matchers/);
      expect(result.stdout).toBe('');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  }, 30_000);
});
