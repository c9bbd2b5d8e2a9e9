/**
 * The package a user installs (`npm run test:package`; not part of `npm test`).
 *
 * Packs the working tree as an unbuilt clone would be packed (a copy without dist/, so `prepack` must build),
 * installs the tarball into temporary apps with only the peers each needs (from the npm cache, at the versions of
 * package-lock.json), and then:
 * - runs the README's "Use it in your app" and "A pool for any upstream" blocks and docs/postgres.md's
 *   `createPgPool` block, read from the installed package's own copies by their headings, against the wire
 *   simulators of src/simulators and the PostgreSQL on 127.0.0.1:5432 (POOLSCOPE_TEST_DATABASE_URL);
 * - type-checks them with `tsc` (`module`/`moduleResolution: nodenext`, strict) against the installed tarball;
 * - starts the service in the Docker image's layout, without Docker: production-only node_modules, the SDKs in
 *   a tree of their own found through NODE_PATH, DATABASE_URL set.
 *
 * The harness around the snippets, and nothing else, is ours (test/package/app/):
 * - the environment points the clients at the simulators (the variables of docs/configuration.md);
 * - names the docs use without defining them get values: `authorization`, `ownerId`, `SomeSdk`, `sync`
 *   (globals.d.ts types them, run-snippet.mjs defines them);
 * - the example origin `https://billing.internal` becomes a local server's origin in the compiled snippet: the
 *   host does not resolve and the URL's port is 443, so it cannot run as written;
 * - docs/postgres.md's queries read an `uploads` table, created in a schema of this run's.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cleanEnv } from '../support/built-service.js';
import { startCountingServer, type CountingServer } from '../support/http-server.js';
import { startOpenAISimulator, startPineconeSimulators, startSupabaseSimulator } from '../../src/simulators/index.js';
import type { OpenAISimulator, PineconeSimulators, SupabaseSimulator } from '../../src/simulators/index.js';
import { codeBlockUnder, relativeLinks } from './markdown.js';
import { testDatabaseUrl } from '../support/database.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const HARNESS = fileURLToPath(new URL('./app', import.meta.url));
const DATABASE_URL = testDatabaseUrl();
const TOKEN = 'package-test-monitoring-token';
const run = promisify(execFile);

/** The docs' snippets under test, by the heading they sit under in the packed file. */
const SNIPPETS = [
  { name: 'use-it-in-your-app', doc: 'README.md', heading: 'Use it in your app' },
  { name: 'a-pool-for-any-upstream', doc: 'README.md', heading: 'A pool for any upstream' },
  { name: 'postgres-create-pg-pool', doc: 'docs/postgres.md', heading: 'A new pool: `createPgPool`' },
] as const;
type SnippetName = (typeof SNIPPETS)[number]['name'];

const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string }>;
};
const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  peerDependencies: Record<string, string>;
};

/** `name@<the version package-lock.json has>`: what `npm ci` put in the cache. */
function locked(name: string): string {
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (!version) throw new Error(`${name} is not in package-lock.json`);
  return version;
}

/** npm, without the npm_* variables of an enclosing `npm run` (they would configure the inner npm). */
async function npm(args: string[], cwd: string): Promise<string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  const { stdout } = await run('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd,
    env,
    maxBuffer: 64 << 20,
  });
  return stdout;
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** A copy of the working tree as git sees it (tracked and new files, nothing ignored: no dist, no node_modules). */
async function cloneWorkingTree(target: string): Promise<void> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO,
    maxBuffer: 64 << 20,
  });
  for (const file of stdout.split('\0').filter(Boolean)) {
    if (!existsSync(join(REPO, file))) continue; // deleted in the work tree, not yet in git
    mkdirSync(dirname(join(target, file)), { recursive: true });
    cpSync(join(REPO, file), join(target, file));
  }
  // The build needs the dev dependencies (tsc, @types); they are the repo's.
  symlinkSync(join(REPO, 'node_modules'), join(target, 'node_modules'), 'dir');
}

interface Packed {
  tarball: string;
  files: string[];
}

async function pack(work: string): Promise<Packed> {
  const clone = join(work, 'clone');
  await cloneWorkingTree(clone);
  const out = join(work, 'tarball');
  mkdirSync(out);
  const [result] = JSON.parse(await npm(['pack', '--json', '--pack-destination', out], clone)) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  return { tarball: join(out, result!.filename), files: result!.files.map((file) => file.path).sort() };
}

/** An app that installed the tarball and what the snippets import: express, the three SDKs and pg, with types. */
async function installApp(dir: string, tarball: string): Promise<void> {
  writeJson(join(dir, 'package.json'), {
    name: 'poolscope-package-test-app',
    private: true,
    type: 'module',
    dependencies: Object.fromEntries(
      ['express', '@supabase/supabase-js', 'openai', '@pinecone-database/pinecone', 'pg']
        .map((name) => [name, locked(name)])
        .concat([['poolscope', `file:${tarball}`]]),
    ),
    devDependencies: Object.fromEntries(
      ['@types/express', '@types/node', '@types/pg'].map((name) => [name, locked(name)]),
    ),
  });
  await npm(['install'], dir);
  for (const file of readdirSync(HARNESS)) cpSync(join(HARNESS, file), join(dir, file));
  writeJson(join(dir, 'tsconfig.json'), {
    compilerOptions: {
      target: 'ES2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      lib: ['ES2023'],
      types: ['node'],
      strict: true,
      skipLibCheck: false,
      outDir: 'out',
      rootDir: '.',
    },
    include: ['snippets', 'globals.d.ts'],
  });
  writeJson(join(dir, 'tsconfig.dom.json'), {
    extends: './tsconfig.json',
    compilerOptions: { lib: ['ES2023', 'DOM'], noEmit: true },
  });
}

/** The tsconfigs of the app: Node's globals only, and with lib DOM too (both are common). */
const TSCONFIGS = ['tsconfig.json', 'tsconfig.dom.json'] as const;

/** `tsc -p config` in `dir`: its exit code and what it printed. */
async function tsc(dir: string, config: string): Promise<{ code: number; output: string }> {
  return run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', config], { cwd: dir }).then(
    ({ stdout }) => ({ code: 0, output: stdout }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: error.code ?? 1,
      output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
    }),
  );
}

/**
 * tsc's errors that are the docs' or poolscope's: in the snippets, the harness or poolscope's declarations. The
 * SDKs' own declarations do not compile without lib DOM (supabase-js names `Storage`, `CloseEvent`...; Pinecone
 * `RequestCredentials`): with `skipLibCheck` off, as here, those errors are theirs, and an app hides them with
 * `skipLibCheck`, which would hide errors in poolscope's declarations too.
 */
function ourErrors(output: string): string[] {
  return output.split('\n').filter((line) => /error TS\d+/.test(line) && !/^node_modules\/(?!poolscope\/)/.test(line));
}

/**
 * The Docker image's layout: the package with its production dependencies only, and the SDK peers at the
 * lockfile's versions in a tree of their own (the Dockerfile's `sdks` stage), found through NODE_PATH.
 */
async function installImageLayout(dir: string, tarball: Promise<Packed>): Promise<void> {
  const sdks = join(dir, 'sdks');
  writeJson(join(sdks, 'package.json'), {
    name: 'poolscope-sdks',
    private: true,
    dependencies: Object.fromEntries(Object.keys(manifest.peerDependencies).map((name) => [name, locked(name)])),
  });
  const app = join(dir, 'app');
  const installSdks = npm(['install', '--omit=dev', '--no-package-lock'], sdks);
  const { tarball: file } = await tarball;
  writeJson(join(app, 'package.json'), {
    name: 'poolscope-image',
    private: true,
    dependencies: { poolscope: `file:${file}` },
  });
  await Promise.all([installSdks, npm(['install', '--omit=dev'], app)]);
}

/**
 * The typings matrix beyond the main app's (the lockfile's SDKs, @types/node 20): the newest SDK majors the peer
 * ranges allow with @types/node 24, and the lockfile's SDKs with @types/node 22. Each app type-checks the docs'
 * snippets and test/types/fetch.ts (pool.fetch where each SDK takes a fetch), with and without lib DOM.
 */
const TYPINGS = [
  { name: 'newest SDK majors, @types/node 24', dir: 'types-newest', sdks: 'newest', typesNode: '24' },
  { name: 'lockfile SDKs, @types/node 22', dir: 'types-node22', sdks: 'locked', typesNode: '22' },
] as const;
// The newest majors, named: on Node 20 npm would otherwise pick the newest versions whose engines fit (openai 6).
const NEWEST_SDKS: Record<string, string> = {
  openai: '^7',
  '@supabase/supabase-js': '^2.110.0',
  '@pinecone-database/pinecone': '^9',
  pg: '^8',
};

async function typecheckApp(
  dir: string,
  tarball: Promise<Packed>,
  typing: (typeof TYPINGS)[number],
): Promise<Record<(typeof TSCONFIGS)[number], { code: number; output: string }>> {
  const sdks = ['@supabase/supabase-js', 'openai', '@pinecone-database/pinecone', 'pg'];
  const { tarball: file } = await tarball;
  writeJson(join(dir, 'package.json'), {
    name: 'poolscope-typings-app',
    private: true,
    type: 'module',
    dependencies: {
      ...Object.fromEntries(sdks.map((name) => [name, typing.sdks === 'newest' ? NEWEST_SDKS[name] : locked(name)])),
      express: locked('express'),
      poolscope: `file:${file}`,
    },
    devDependencies: {
      '@types/express': locked('@types/express'),
      '@types/pg': locked('@types/pg'),
      '@types/node': `^${typing.typesNode}`,
    },
  });
  await npm(['install', '--engine-strict=false'], dir);
  mkdirSync(join(dir, 'snippets'), { recursive: true });
  for (const snippet of SNIPPETS) {
    const doc = readFileSync(join(dir, 'node_modules/poolscope', snippet.doc), 'utf8');
    writeFileSync(join(dir, 'snippets', `${snippet.name}.ts`), codeBlockUnder(doc, snippet.heading));
  }
  cpSync(join(REPO, 'test/types/fetch.ts'), join(dir, 'snippets/fetch.ts'));
  cpSync(join(HARNESS, 'globals.d.ts'), join(dir, 'globals.d.ts'));
  const base = {
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    types: ['node'],
    strict: true,
    skipLibCheck: false,
    noEmit: true,
  };
  writeJson(join(dir, 'tsconfig.json'), {
    compilerOptions: { ...base, lib: ['ES2023'] },
    include: ['snippets', 'globals.d.ts'],
  });
  writeJson(join(dir, 'tsconfig.dom.json'), {
    extends: './tsconfig.json',
    compilerOptions: { lib: ['ES2023', 'DOM'] },
  });
  const [plain, dom] = await Promise.all(TSCONFIGS.map((config) => tsc(dir, config)));
  return { 'tsconfig.json': plain!, 'tsconfig.dom.json': dom! };
}

/** The installed versions an app resolved, for the test's name in a failure. */
function installedVersions(dir: string): string {
  return ['openai', '@supabase/supabase-js', '@pinecone-database/pinecone', '@types/node']
    .map(
      (name) =>
        `${name}@${(JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version}`,
    )
    .join(' ');
}

let work: string;
let packed: Packed;
let app: string;
let image: string;
let typecheck: Record<(typeof TSCONFIGS)[number], { code: number; output: string }>;
let typings: Array<Awaited<ReturnType<typeof typecheckApp>>>;
let supabase: SupabaseSimulator;
let openai: OpenAISimulator;
let pinecone: PineconeSimulators;
let billing: CountingServer;
const billingRequests: Array<{ url: string | undefined; authorization: string | undefined }> = [];
let schema: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'poolscope-package-'));
  app = join(work, 'app');
  image = join(work, 'image');
  const packing = pack(work);
  packing.catch(() => undefined); // awaited below; the image's SDK install starts meanwhile
  const imageReady = installImageLayout(image, packing);
  imageReady.catch(() => undefined);
  const typingsReady = Promise.all(TYPINGS.map((typing) => typecheckApp(join(work, typing.dir), packing, typing)));
  typingsReady.catch(() => undefined);
  packed = await packing;
  await installApp(app, packed.tarball);
  await imageReady;
  typings = await typingsReady;

  // The snippets as the installed package's docs have them, type-checked and compiled once.
  for (const snippet of SNIPPETS) {
    const doc = readFileSync(join(app, 'node_modules/poolscope', snippet.doc), 'utf8');
    mkdirSync(join(app, 'snippets'), { recursive: true });
    writeFileSync(join(app, 'snippets', `${snippet.name}.ts`), codeBlockUnder(doc, snippet.heading));
  }
  const [plain, dom] = await Promise.all(TSCONFIGS.map((config) => tsc(app, config)));
  typecheck = { 'tsconfig.json': plain!, 'tsconfig.dom.json': dom! };

  [supabase, openai, pinecone] = await Promise.all([
    startSupabaseSimulator(),
    startOpenAISimulator(),
    startPineconeSimulators(),
  ]);
  billing = await startCountingServer((req: http.IncomingMessage, res: http.ServerResponse) => {
    billingRequests.push({ url: req.url, authorization: req.headers.authorization });
    req.resume();
    res.setHeader('content-type', 'application/json');
    res.end('{"invoices":[]}');
  });

  schema = `package_test_${process.pid}_${Date.now()}`;
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(
      `CREATE TABLE ${schema}.uploads (id serial PRIMARY KEY, name text NOT NULL, owner text NOT NULL)`,
    );
    await client.query(`INSERT INTO ${schema}.uploads (name, owner) VALUES ('a.pdf', 'owner-1'), ('b.pdf', 'owner-2')`);
  } finally {
    await client.end();
  }
}, 180_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all([supabase?.close(), openai?.close(), pinecone?.close(), billing?.close()]);
  if (schema) {
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => client.end());
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Process {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  output: () => string;
  /** The first stdout JSON line `match` accepts; rejects if the process exits first or after `ms`. */
  line(match: (line: Record<string, unknown>) => boolean, what: string, ms?: number): Promise<Record<string, unknown>>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Process {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: Array<Record<string, unknown>> = [];
  let output = '';
  const changed = new Set<() => void>();
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    output += `${text}\n`;
    try {
      lines.push(JSON.parse(text) as Record<string, unknown>);
    } catch {
      return;
    }
    for (const check of [...changed]) check();
  });
  const exit = once(child, 'close').then(() => ({ code: child.exitCode, signal: child.signalCode }));
  return {
    child,
    lines,
    output: () => output,
    exit,
    line(match, what, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no ${what} within ${ms} ms; output:\n${output}`)), ms);
        const finish = (error?: Error, line?: Record<string, unknown>) => {
          clearTimeout(timer);
          changed.delete(check);
          if (error) reject(error);
          else resolve(line!);
        };
        const check = () => {
          const line = lines.find(match);
          if (line) finish(undefined, line);
        };
        changed.add(check);
        check();
        void exit.then(({ code, signal }) => {
          if (changed.has(check)) finish(new Error(`exited (${code ?? signal}) before ${what}; output:\n${output}`));
        });
      });
    },
  };
}

/** Runs a compiled snippet with the harness; resolves once it has run to its end (or rejects with its error). */
async function runSnippet(
  name: SnippetName,
  env: Record<string, string>,
  substitutions: Record<string, string> = {},
): Promise<Process> {
  let code = readFileSync(join(app, 'out/snippets', `${name}.js`), 'utf8');
  for (const [example, local] of Object.entries(substitutions)) code = code.replaceAll(example, local);
  const file = join(app, 'run', `${name}.js`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, code);
  const proc = start(process.execPath, ['run-snippet.mjs', file], app, cleanEnv(env));
  const end = await proc.line((line) => line.harness === 'done' || line.harness === 'failed', 'the end of the snippet');
  if (end.harness === 'failed') throw new Error(`the snippet threw:\n${String(end.error)}\noutput:\n${proc.output()}`);
  return proc;
}

/** Resolves when the snippet's process has exited by itself, with its exit code; rejects after `ms`. */
async function exitsByItself(proc: Process, ms = 15_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the snippet ran to its end but its process did not exit within ${ms} ms`)),
      ms,
    );
  });
  try {
    return (await Promise.race([proc.exit, timeout])).code;
  } finally {
    clearTimeout(timer);
  }
}

describe('the packed tarball', () => {
  it('ships the built library, the bin, the LICENSE, the CHANGELOG and the operations assets, built by prepack', () => {
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/bin/poolscope.js',
      'dist/simulators/index.js',
      'LICENSE',
      'README.md',
      'CHANGELOG.md',
      'alerts/poolscope.rules.yml',
      'docs/runbooks/UpstreamDown.md',
    ]) {
      expect(packed.files, file).toContain(file);
    }
  });

  it('ships no sources, tests, benchmarks or scripts: only dist/, the docs and the assets', () => {
    const roots = new Set(packed.files.map((file) => file.split('/')[0]));
    expect([...roots].sort()).toEqual([
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'alertmanager',
      'alerts',
      'dist',
      'docs',
      'grafana',
      'package.json',
      'prometheus',
    ]);
    expect(packed.files.filter((file) => /\.test\.|^alerts\/tests\//.test(file))).toEqual([]);
    // dist/ is src/ compiled, the demo's simulators (dist/simulators) included: nothing of test/ is built.
    expect(packed.files.filter((file) => /^dist\/(src|test)\//.test(file))).toEqual([]);
  });

  it('installs the poolscope bin, which runs by itself (its shebang, no shell)', async () => {
    const { version } = JSON.parse(readFileSync(join(app, 'node_modules/poolscope/package.json'), 'utf8')) as {
      version: string;
    };
    const { stdout } = await run(join(app, 'node_modules/.bin/poolscope'), ['--version'], { cwd: app });
    expect(stdout).toBe(`${version}\n`);
  });

  it('has source maps that carry their sources, since src/ is not shipped', () => {
    const maps = packed.files.filter((file) => file.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const file of maps) {
      const map = JSON.parse(readFileSync(join(app, 'node_modules/poolscope', file), 'utf8')) as {
        sources: string[];
        sourcesContent?: string[];
      };
      expect(map.sourcesContent?.length, file).toBe(map.sources.length);
    }
  });

  it('has docs whose relative links all resolve to files in the package', () => {
    const broken: string[] = [];
    for (const doc of packed.files.filter((file) => file.endsWith('.md'))) {
      for (const target of relativeLinks(readFileSync(join(app, 'node_modules/poolscope', doc), 'utf8'))) {
        const path = posix.normalize(posix.join(posix.dirname(doc), decodeURI(target))).replace(/\/$/, '');
        if (!packed.files.some((file) => file === path || file.startsWith(`${path}/`)))
          broken.push(`${doc}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe("the docs' snippets, in an app that installed the tarball", () => {
  it.each(TSCONFIGS)(
    'type-check with tsc -p %s (module and moduleResolution nodenext, strict) against the installed package',
    (config) => {
      expect(ourErrors(typecheck[config].output)).toEqual([]);
      expect(existsSync(join(app, 'out/snippets'))).toBe(true);
    },
  );

  it.each(TYPINGS.map((typing, i) => [typing.name, i] as const))(
    'type-check, pool.fetch included, with the %s, with and without lib DOM',
    (_name, i) => {
      const dir = join(work, TYPINGS[i]!.dir);
      const versions = installedVersions(dir);
      if (TYPINGS[i]!.sdks === 'newest') {
        // The majors that need Node 22 (typings do not: they type-check on any Node).
        expect(Number(/openai@(\d+)/.exec(versions)?.[1]), versions).toBeGreaterThanOrEqual(7);
        expect(Number(/pinecone@(\d+)/.exec(versions)?.[1]), versions).toBeGreaterThanOrEqual(9);
      }
      expect(versions).toContain(`@types/node@${TYPINGS[i]!.typesNode}.`);
      for (const config of TSCONFIGS)
        expect(ourErrors(typings[i]![config].output), `${config}: ${installedVersions(dir)}`).toEqual([]);
    },
  );

  it('README "Use it in your app" runs against the simulators and serves the pools\' metrics', async () => {
    const proc = await runSnippet('use-it-in-your-app', {
      SUPABASE_URL: supabase.url,
      SUPABASE_ANON_KEY: supabase.anonKey,
      SUPABASE_SERVICE_ROLE_KEY: supabase.serviceRoleKey,
      OPENAI_API_KEY: 'sk-package-test',
      OPENAI_BASE_URL: openai.baseURL,
      PINECONE_API_KEY: pinecone.apiKey,
      PINECONE_INDEX_NAME: pinecone.indexName,
      PINECONE_CONTROLLER_HOST: pinecone.control.url,
      MONITORING_TOKEN: TOKEN,
      PORT: '0',
    });
    expect(supabase.stats.requests, 'requests the snippet sent to Supabase').toBeGreaterThan(0);
    const listening = proc.lines.find((line) => line.harness === 'listening');
    if (listening) {
      const metrics = await (await fetch(`http://127.0.0.1:${String(listening.port)}/metrics`)).text();
      expect(metrics).toMatch(/^poolscope_pool_connections_max\{[^}]*pool="supabase"[^}]*\} \d+$/m);
      // A server the snippet starts is stopped the way it says (or by the default SIGTERM disposition).
      proc.child.kill('SIGTERM');
      const exit = await exitsByItself(proc);
      expect(exit === 0 || proc.child.signalCode === 'SIGTERM', `exit ${exit} ${proc.child.signalCode}`).toBe(true);
    } else {
      // A snippet that serves nothing must let its process end.
      expect(await exitsByItself(proc)).toBe(0);
    }
  });

  it('README "A pool for any upstream" sends its request through the pool and lets the process exit', async () => {
    const proc = await runSnippet('a-pool-for-any-upstream', {}, { 'https://billing.internal': billing.origin });
    expect(billingRequests).toContainEqual({ url: '/invoices?limit=10', authorization: 'Bearer package-test' });
    expect(await exitsByItself(proc)).toBe(0);
  });

  it('docs/postgres.md "A new pool: createPgPool" queries PostgreSQL and lets the process exit', async () => {
    const url = new URL(DATABASE_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const proc = await runSnippet('postgres-create-pg-pool', { DATABASE_URL: url.href });
    expect(await exitsByItself(proc)).toBe(0);
  });
});

describe('the Docker image layout, without Docker', () => {
  it('keeps pg out of the app and starts the service with DATABASE_URL: pg is found through NODE_PATH', async () => {
    expect(existsSync(join(image, 'app/node_modules/pg')), 'pg pruned from the app, as in the image').toBe(false);
    expect(existsSync(join(image, 'sdks/node_modules/pg'))).toBe(true);
    const service = start(
      process.execPath,
      ['node_modules/poolscope/dist/bin/poolscope.js'],
      join(image, 'app'),
      cleanEnv({
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: '0',
        NODE_PATH: join(image, 'sdks/node_modules'),
        DATABASE_URL,
        MONITORING_TOKEN: TOKEN,
      }),
    );
    const listening = await service.line(
      (line) => typeof line.msg === 'string' && line.msg.startsWith('poolscope listening'),
      'the listening line',
    );
    const metrics = await (await fetch(`${String(listening.url)}/metrics`)).text();
    expect(metrics).toMatch(/^poolscope_pool_connections_max\{[^}]*pool="postgres"[^}]*\} \d+$/m);
    service.child.kill('SIGTERM');
    expect(await service.exit).toEqual({ code: 0, signal: null });
  });
});

describe('an app that installed only the SDK it uses', () => {
  /** A NODE_PATH that offers only openai, for the image's app, which has no SDK of its own. */
  const onlyOpenAIPath = (): string => {
    const dir = join(work, 'only-openai/node_modules');
    if (!existsSync(join(dir, 'openai'))) {
      mkdirSync(dir, { recursive: true });
      symlinkSync(join(image, 'sdks/node_modules/openai'), join(dir, 'openai'), 'dir');
    }
    return dir;
  };

  it('gets its OpenAI client with SUPABASE_URL and DATABASE_URL also set; only the others report their missing package', async () => {
    const onlyOpenAI = onlyOpenAIPath();
    writeFileSync(
      join(image, 'app/only-openai.mjs'),
      `import { getClients, getOpenAIClient, getSupabaseClient } from 'poolscope';
const describe = (run) => { try { run(); return null; } catch (error) { return { name: error.name, option: error.option, message: error.message }; } };
const models = await getOpenAIClient().models.list();
const supabase = describe(() => getSupabaseClient());
const pg = describe(() => getClients().handles.postgres);
const health = await getClients().checkHealth(2000);
console.log(JSON.stringify({ models: models.data.length, supabase, pg, health: Object.fromEntries(Object.entries(health).map(([k, v]) => [k, { healthy: v.healthy, message: v.message }])) }));
await getClients().close();
`,
    );
    const { stdout } = await run(process.execPath, ['only-openai.mjs'], {
      cwd: join(image, 'app'),
      env: cleanEnv({
        NODE_PATH: onlyOpenAI,
        OPENAI_API_KEY: 'sk-package-test',
        OPENAI_BASE_URL: openai.baseURL,
        SUPABASE_URL: supabase.url,
        SUPABASE_ANON_KEY: supabase.anonKey,
        DATABASE_URL,
      }),
    });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as {
      models: number;
      supabase: { name: string; option: string; message: string };
      pg: { name: string; option: string; message: string };
      health: Record<string, { healthy: boolean; message: string }>;
    };
    expect(result.models).toBeGreaterThan(0);
    expect(result.supabase).toMatchObject({ name: 'PoolConfigError', option: '@supabase/supabase-js' });
    expect(result.supabase.message).toContain('npm install @supabase/supabase-js');
    expect(result.pg).toMatchObject({ name: 'PoolConfigError', option: 'pg' });
    expect(result.pg.message).toContain('npm install pg');
    // The pools need no SDK: Supabase's is checked and up; Postgres' cannot exist, and its check says why.
    expect(result.health.supabase?.healthy).toBe(true);
    expect(result.health.openai?.healthy).toBe(true);
    expect(result.health.postgres).toMatchObject({ healthy: false });
    expect(result.health.postgres!.message).toContain('npm install pg');
  });

  it('runs the demo (npx poolscope) with the pools of every upstream and the traffic of the SDK it has', async () => {
    const service = start(
      process.execPath,
      ['node_modules/poolscope/dist/bin/poolscope.js'],
      join(image, 'app'),
      cleanEnv({ HOST: '127.0.0.1', PORT: '0', NODE_PATH: onlyOpenAIPath(), POOLSCOPE_MODE: 'demo' }),
    );
    const listening = await service.line(
      (line) => typeof line.msg === 'string' && line.msg.startsWith('poolscope listening'),
      'the listening line',
    );
    await service.line((line) => line.package === '@supabase/supabase-js', 'the warning that Supabase gets no traffic');
    const served = async () => (await fetch(`${String(listening.url)}/metrics`)).text();
    const openaiSuccesses =
      /^poolscope_request_duration_seconds_count\{[^}]*pool="openai"[^}]*outcome="success"[^}]*\} [1-9]/m;
    await vi.waitFor(async () => expect(await served()).toMatch(openaiSuccesses), { timeout: 15_000, interval: 100 });
    const metrics = await served();
    for (const pool of ['supabase', 'openai', 'pinecone_control']) {
      expect(metrics).toMatch(new RegExp(`^poolscope_pool_connections_max\\{[^}]*pool="${pool}"[^}]*\\} \\d+$`, 'm'));
    }
    service.child.kill('SIGTERM');
    expect(await service.exit).toEqual({ code: 0, signal: null });
  });
});
