import { brand } from './brand.js';
import { PoolscopeError } from './poolscope-error.js';

/** One bad environment variable: its name and what is wrong, never its value. */
export interface ConfigIssue {
  /** The variable at fault, e.g. `SUPABASE_POOL_SIZE`; `A or B` when either one would fix it. */
  variable: string;
  /** What is wrong, in the user's words (never the value, which may be a secret). */
  problem: string;
}

/** The environment is invalid. Thrown once, listing every bad variable, one per line. */
export class ConfigError extends PoolscopeError {
  static {
    brand(this, 'ConfigError');
  }

  readonly code = 'POOLSCOPE_ENV_INVALID';
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[], options?: { cause?: unknown }) {
    const lines = issues.map((issue) => `  ${issue.variable}: ${issue.problem}`);
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(`Invalid environment configuration (${count}):\n${lines.join('\n')}`, undefined, options);
    this.issues = issues;
  }
}
