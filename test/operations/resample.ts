/**
 * A promtool test file written at a 1 m series interval, resampled at a finer one: every value the 1 m file
 * gives at minute m is there at minute m, the `k - 1` samples in between continue the same line (a counter that
 * grows by `b` a minute grows by `b / k` a sample; a constant stays). So the same expected values must hold,
 * and a rule whose window is too short for the coarse interval shows up as a difference between the two runs.
 */
import { parse, stringify } from 'yaml';

interface PromtoolTest {
  interval?: string;
  input_series?: Array<{ series: string; values: string }>;
}

interface PromtoolFile {
  rule_files: string[];
  evaluation_interval?: string;
  tests: PromtoolTest[];
}

const NUMBER = String.raw`-?\d+(?:\.\d+)?(?:e[+-]?\d+)?`;

/** `values` in promtool's expanding notation, each term's samples `k` times as dense. */
export function resampleValues(values: string, k: number): string {
  return values
    .trim()
    .split(/\s+/)
    .map((term) => {
      // a+bxn, a-bxn: n + 1 samples a minute apart, then the next term; at k a minute, k(n + 1) samples.
      const line = new RegExp(`^(${NUMBER})([+-])(${NUMBER})x(\\d+)$`).exec(term);
      if (line) {
        const [, start, sign, step, n] = line;
        return `${start}${sign}${Number(step) / k}x${k * (Number(n) + 1) - 1}`;
      }
      // axn, _xn, stale, or one value: the same value held for the same minutes.
      const held = new RegExp(`^(_|stale|${NUMBER}|[+-]?Inf|NaN)(?:x(\\d+))?$`).exec(term);
      if (held) return `${held[1]}x${k * (Number(held[2] ?? 0) + 1) - 1}`;
      throw new Error(`cannot resample the promtool values term ${term}`);
    })
    .join(' ');
}

/**
 * The text of a promtool test file written at 1 m (`text`), at `seconds` per sample, its rule files read from
 * `ruleFiles` (the resampled copy lives elsewhere, so the relative paths change).
 */
export function resampleTestFile(text: string, seconds: number, ruleFiles: string[]): string {
  const k = 60 / seconds;
  if (!Number.isInteger(k)) throw new Error(`${seconds} s does not divide a minute`);
  const file = parse(text) as PromtoolFile;
  for (const test of file.tests) {
    if (test.interval !== '1m') throw new Error(`resampleTestFile needs tests written at 1m, not ${test.interval}`);
    test.interval = `${seconds}s`;
    for (const input of test.input_series ?? []) input.values = resampleValues(input.values, k);
  }
  return stringify({ ...file, rule_files: ruleFiles, evaluation_interval: `${seconds}s` }, { lineWidth: 0 });
}
