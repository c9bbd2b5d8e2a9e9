import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as poolscope from '../src/index.js';
import * as A from '../src/errors/index.js';
import { ownBrand } from '../src/errors/brand.js';

type ErrorsModule = typeof A;
type ErrorClass = abstract new (...args: never[]) => Error;

const ordinaryInstanceOf = (value: unknown, errorClass: ErrorClass): boolean =>
  Function.prototype[Symbol.hasInstance].call(errorClass, value);

/** Every error class the package exports, found by its prototype chain rather than by a list that could go stale. */
const exportedErrorClasses = Object.entries(poolscope as Record<string, unknown>).filter(
  (entry): entry is [string, ErrorClass] =>
    typeof entry[1] === 'function' &&
    (entry[1] === A.PoolscopeError || ordinaryInstanceOf(entry[1].prototype, A.PoolscopeError)),
);

describe('instanceof across two copies of poolscope', () => {
  // A second copy of the errors, compiled on its own into its own directory, as when an app and a library it
  // depends on each install their own poolscope: distinct classes, the same brands.
  let dir: string;
  let B: ErrorsModule;

  beforeAll(async () => {
    const cache = fileURLToPath(new URL('../node_modules/.cache/', import.meta.url));
    await mkdir(cache, { recursive: true });
    dir = await mkdtemp(join(cache, 'poolscope-errors-copy-'));
    const source = new URL('../src/errors/', import.meta.url);
    for (const file of await readdir(source)) {
      const compiled = ts.transpileModule(await readFile(new URL(file, source), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      });
      await writeFile(join(dir, file.replace(/\.ts$/, '.js')), compiled.outputText);
    }
    await writeFile(join(dir, 'package.json'), '{"type":"module"}');
    B = (await import(pathToFileURL(join(dir, 'index.js')).href)) as ErrorsModule;
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a second copy whose classes are not the first copy’s', () => {
    expect(B.PoolTimeoutError).not.toBe(A.PoolTimeoutError);
    expect(ordinaryInstanceOf(new B.PoolTimeoutError('api', 'headers', 100), A.PoolTimeoutError)).toBe(false);
  });

  it('recognises an error from the other copy as an instance of the same class, both ways', () => {
    expect(new B.PoolTimeoutError('api', 'headers', 100)).toBeInstanceOf(A.PoolTimeoutError);
    expect(new A.PoolTimeoutError('api', 'headers', 100)).toBeInstanceOf(B.PoolTimeoutError);
    expect(new B.ServiceListenError('127.0.0.1', 80, 'EACCES')).toBeInstanceOf(A.ServiceListenError);
    expect(new B.ConfigError([{ variable: 'PORT', problem: 'not a number' }])).toBeInstanceOf(A.ConfigError);
  });

  it('recognises an error from the other copy as an instance of its ancestors, both ways', () => {
    const fromB = new B.PgAcquireTimeoutError('db', 200);
    expect(fromB).toBeInstanceOf(A.PgAcquireTimeoutError);
    expect(fromB).toBeInstanceOf(A.PoolAcquireTimeoutError);
    expect(fromB).toBeInstanceOf(A.PoolscopeError);
    expect(fromB).toBeInstanceOf(Error);

    const fromA = new A.PgAcquireTimeoutError('db', 200);
    expect(fromA).toBeInstanceOf(B.PoolAcquireTimeoutError);
    expect(fromA).toBeInstanceOf(B.PoolscopeError);
  });

  it('does not take a parent or a sibling from the other copy for a subclass', () => {
    expect(new B.PoolAcquireTimeoutError('api', 100)).not.toBeInstanceOf(A.PgAcquireTimeoutError);
    expect(new A.PoolAcquireTimeoutError('api', 100)).not.toBeInstanceOf(B.PgAcquireTimeoutError);
    expect(new B.PoolTimeoutError('api', 'connect', 100)).not.toBeInstanceOf(A.PoolConnectError);
    expect(new B.PoolConfigError('maxQueued', 'must be ≥ 0')).not.toBeInstanceOf(A.ConfigError);
  });

  it('answers false for an unrelated Error, a look-alike object, and non-objects', () => {
    const lookAlike = { name: 'PoolTimeoutError', code: 'POOLSCOPE_TIMEOUT', reason: 'timeout', pool: 'api' };
    const unrelated = Object.assign(new Error('timeout'), { code: 'POOLSCOPE_TIMEOUT' });
    for (const value of [lookAlike, unrelated, new TypeError('terminated'), null, undefined, 'POOLSCOPE_TIMEOUT', 0]) {
      expect(value instanceof A.PoolTimeoutError).toBe(false);
      expect(value instanceof B.PoolscopeError).toBe(false);
    }
  });
});

describe('error brands', () => {
  it('finds the exported error classes it checks', () => {
    expect(exportedErrorClasses.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'ConfigError',
        'PgAcquireTimeoutError',
        'PoolAcquireTimeoutError',
        'PoolClosedError',
        'PoolConfigError',
        'PoolConnectError',
        'PoolOriginError',
        'PoolQueueFullError',
        'PoolRequestError',
        'PoolTimeoutError',
        'PoolscopeError',
        'ServiceListenError',
      ]),
    );
  });

  // A class without a brand of its own would inherit its parent's, and across copies any parent would pass for it.
  it.each(exportedErrorClasses)('gives %s a brand of its own, named after it', (name, errorClass) => {
    expect(ownBrand(errorClass)).toBe(Symbol.for(`poolscope.error.${name}`));
    expect(errorClass.name).toBe(name);
  });

  it('checks a user’s subclass without a brand of its own by its prototype', () => {
    class RetriesExhaustedError extends A.PoolTimeoutError {}
    const mine = new RetriesExhaustedError('api', 'request', 1_000);
    expect(mine).toBeInstanceOf(RetriesExhaustedError);
    expect(mine).toBeInstanceOf(A.PoolTimeoutError);
    expect(mine.name).toBe('RetriesExhaustedError');
    expect(new A.PoolTimeoutError('api', 'request', 1_000)).not.toBeInstanceOf(RetriesExhaustedError);
  });
});

describe('error classes', () => {
  const cause = new Error('the wrapped failure');
  const built: [A.PoolscopeError, string, string][] = [
    [
      new A.PoolConfigError('maxQueued', 'must be ≥ 0', 'api', { cause }),
      'PoolConfigError',
      'POOLSCOPE_CONFIG_INVALID',
    ],
    [
      new A.ConfigError([{ variable: 'PORT', problem: 'not a number' }], { cause }),
      'ConfigError',
      'POOLSCOPE_ENV_INVALID',
    ],
    [new A.PoolQueueFullError('api', 10, { cause }), 'PoolQueueFullError', 'POOLSCOPE_QUEUE_FULL'],
    [new A.PoolAcquireTimeoutError('api', 100, { cause }), 'PoolAcquireTimeoutError', 'POOLSCOPE_ACQUIRE_TIMEOUT'],
    [new A.PgAcquireTimeoutError('db', 200, { cause }), 'PgAcquireTimeoutError', 'POOLSCOPE_ACQUIRE_TIMEOUT'],
    [new A.PoolTimeoutError('api', 'headers', 100, { cause }), 'PoolTimeoutError', 'POOLSCOPE_TIMEOUT'],
    [new A.PoolConnectError('api', 'refused', { cause }), 'PoolConnectError', 'POOLSCOPE_CONNECT_FAILED'],
    [new A.PoolRequestError('api', 'other', { cause }), 'PoolRequestError', 'POOLSCOPE_REQUEST_FAILED'],
    [new A.PoolClosedError('api', { cause }), 'PoolClosedError', 'POOLSCOPE_POOL_CLOSED'],
    [
      new A.PoolFleetUnavailableError('api', 'api', { cause }),
      'PoolFleetUnavailableError',
      'POOLSCOPE_FLEET_UNAVAILABLE',
    ],
    [
      new A.PoolOriginError('api', 'https://a.example', 'https://b.example', 'request', { cause }),
      'PoolOriginError',
      'POOLSCOPE_ORIGIN_MISMATCH',
    ],
    [new A.ServiceListenError('127.0.0.1', 80, 'EACCES', { cause }), 'ServiceListenError', 'POOLSCOPE_LISTEN_FAILED'],
  ];

  it('are all built in the table above, so every check below covers each', () => {
    const concrete = exportedErrorClasses.map(([name]) => name).filter((name) => name !== 'PoolscopeError');
    expect(built.map(([, name]) => name).sort()).toEqual(concrete.sort());
  });

  it('are each a row of the README error table, with their code', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const [, name, code] of built) expect(readme).toContain(`| \`${name}\` | \`${code}\` |`);
  });

  it.each(built)('keeps the cause it is given, as Error does (%s)', (error, name, code) => {
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(error.cause).toBe(cause);
    expect(Object.getOwnPropertyDescriptor(error, 'cause')).toMatchObject({ enumerable: false, writable: true });
  });

  it('names the database wait in a PgAcquireTimeoutError message, set once by the constructor', () => {
    const error = new A.PgAcquireTimeoutError('db', 200, { cause });
    expect(error.message).toBe('Pool "db" could not check out a database client within connectionTimeoutMs=200');
    expect(Object.getOwnPropertyDescriptor(error, 'message')).toMatchObject({ enumerable: false });
    expect(error).toMatchObject({
      code: 'POOLSCOPE_ACQUIRE_TIMEOUT',
      reason: 'acquire_timeout',
      pool: 'db',
      limitMs: 200,
    });
  });

  it('carries no reason on errors a request does not fail with', () => {
    expect(new A.ConfigError([{ variable: 'PORT', problem: 'not a number' }]).reason).toBeUndefined();
    expect(Object.hasOwn(new A.ServiceListenError('127.0.0.1', 80, 'EACCES'), 'reason')).toBe(false);
  });
});
