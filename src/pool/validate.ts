import { PoolConfigError } from '../errors/index.js';

/** Pool names become the `pool` label. */
export const POOL_NAME_PATTERN = /^[a-z][a-z0-9_]*$/;

/** A pool's name, or `PoolConfigError` naming `name`. */
export function poolName(value: unknown): string {
  if (typeof value !== 'string' || !POOL_NAME_PATTERN.test(value)) {
    throw new PoolConfigError('name', 'must match [a-z][a-z0-9_]* (it becomes the "pool" label)');
  }
  return value;
}

/** Operation names declared up front, or `PoolConfigError` naming `operations`. */
export function operationNames(value: unknown, pool: string): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((o) => typeof o === 'string' && o.length > 0 && o.length <= 64)) {
    throw new PoolConfigError('operations', 'must be an array of non-empty names of at most 64 characters', pool);
  }
  return value as readonly string[];
}

/** An integer option at least `min`, `fallback` when absent, or `PoolConfigError` naming `option`. */
export function integer(value: unknown, fallback: number, option: string, pool: string, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new PoolConfigError(option, 'must be an integer', pool);
  if (value < min) throw new PoolConfigError(option, `must be >= ${min}`, pool);
  return value;
}
