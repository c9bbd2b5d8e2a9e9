/**
 * docker-compose.yml, the Dockerfile and the configs they mount agree with each other. There is no Docker
 * engine in CI or here, so this is checked by reading the files; `docker compose config` runs when the
 * compose plugin is installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readRepoFile, REPO } from './assets.js';

interface ComposeService {
  build?: string | { context: string };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string | string[];
  volumes?: string[];
  ports?: string[];
  depends_on?: string[];
}

const compose = parse(readRepoFile('docker-compose.yml')) as { services: Record<string, ComposeService> };
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no ${name} service`);
  return found;
};

/** The repo path a container path comes from, through the service's bind mounts (deepest mount wins). */
function repoPathOf(serviceName: string, containerPath: string): string | undefined {
  const mounts = (service(serviceName).volumes ?? [])
    .map((volume) => volume.split(':'))
    .filter(([source]) => source?.startsWith('./'))
    .map(([source, target]) => ({ source: source!, target: target! }))
    .sort((a, b) => b.target.length - a.target.length);
  const mount = mounts.find(({ target }) => containerPath === target || containerPath.startsWith(`${target}/`));
  return mount && posix.join(mount.source, posix.relative(mount.target, containerPath));
}

function flag(serviceName: string, name: string): string {
  const value = service(serviceName)
    .command?.find((arg) => arg.startsWith(`--${name}=`))
    ?.slice(name.length + 3);
  if (!value) throw new Error(`${serviceName} has no --${name}`);
  return value;
}

describe('docker-compose.yml', () => {
  it('runs poolscope, Prometheus, Alertmanager and Grafana on 9464, 9090, 9093 and 3000', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['alertmanager', 'grafana', 'poolscope', 'prometheus']);
    expect(service('poolscope').ports).toContain('9464:9464');
    expect(service('prometheus').ports).toContain('9090:9090');
    expect(service('alertmanager').ports).toContain('9093:9093');
    expect(service('grafana').ports).toContain('3000:3000');
    expect(service('prometheus').image).toMatch(/^prom\/prometheus:/);
    expect(service('alertmanager').image).toMatch(/^prom\/alertmanager:/);
    expect(service('grafana').image).toMatch(/^grafana\/grafana:/);
  });

  it('builds poolscope from the Dockerfile and runs the demo unless given credentials (mode auto) or told otherwise', () => {
    expect(service('poolscope').build).toBe('.');
    expect(existsSync(join(REPO, 'Dockerfile'))).toBe(true);
    // Not demo: an explicit POOLSCOPE_MODE=demo wins over the credentials an env_file brings.
    expect(service('poolscope').environment?.POOLSCOPE_MODE).toBe('${POOLSCOPE_MODE:-auto}');
    expect(service('poolscope').env_file).toBeUndefined();
  });

  it('mounts only paths that exist in the repo', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const volume of svc.volumes ?? []) {
        const [source] = volume.split(':');
        if (source?.startsWith('./')) expect(existsSync(join(REPO, source)), `${name}: ${volume}`).toBe(true);
      }
    }
  });

  it('gives Prometheus its config and both rule files at the paths prometheus.yml names, relative to itself', () => {
    const configPath = flag('prometheus', 'config.file');
    expect(repoPathOf('prometheus', configPath)).toBe('prometheus/prometheus.yml');
    const config = parse(readRepoFile('prometheus/prometheus.yml')) as { rule_files: string[] };
    const ruleFiles = config.rule_files.map((file) =>
      repoPathOf('prometheus', posix.join(posix.dirname(configPath), file)),
    );
    expect(ruleFiles).toEqual(['prometheus/rules/recording.yml', 'alerts/poolscope.rules.yml']);
  });

  it('points Prometheus at the poolscope and alertmanager services, on the ports they listen on', () => {
    const config = parse(readRepoFile('prometheus/prometheus.yml')) as {
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
      alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
    };
    const poolscopeJob = config.scrape_configs.find((job) => job.job_name === 'poolscope');
    expect(poolscopeJob?.static_configs[0]?.targets).toEqual(['poolscope:9464']);
    expect(config.alerting.alertmanagers[0]?.static_configs[0]?.targets).toEqual(['alertmanager:9093']);
  });

  it('gives Alertmanager alertmanager/alertmanager.yml', () => {
    expect(repoPathOf('alertmanager', flag('alertmanager', 'config.file'))).toBe('alertmanager/alertmanager.yml');
  });

  it('provisions Grafana with the Prometheus datasource and the folder holding the dashboard', () => {
    expect(repoPathOf('grafana', '/etc/grafana/provisioning/datasources/prometheus.yml')).toBe(
      'grafana/provisioning/datasources/prometheus.yml',
    );
    const provider = parse(readRepoFile('grafana/provisioning/dashboards/poolscope.yml')) as {
      providers: Array<{ type: string; options: { path: string } }>;
    };
    const dashboards = repoPathOf('grafana', provider.providers[0]!.options.path);
    expect(dashboards).toBe('grafana/dashboards');
    expect(existsSync(join(REPO, dashboards!, 'poolscope.json'))).toBe(true);
    const home = service('grafana').environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    expect(repoPathOf('grafana', home!)).toBe('grafana/dashboards/poolscope.json');
    const datasources = parse(readRepoFile('grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: Array<{ url: string; uid: string; type: string }>;
    };
    expect(datasources.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
  });
});

describe('Dockerfile', () => {
  const dockerfile = readRepoFile('Dockerfile');

  it('starts the file `npm start` starts, listening on 0.0.0.0:9464', () => {
    const start = (JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }).scripts.start;
    // `exec`: the shell npm runs the script in becomes node, so npm's SIGTERM reaches the server.
    const script = /^exec node (\S+)$/.exec(start ?? '')?.[1];
    expect(script, `package.json start: ${start}`).toBeDefined();
    expect(dockerfile).toContain(`CMD ["node", "${script}"]`);
    expect(dockerfile).toMatch(/HOST=0\.0\.0\.0/);
    expect(dockerfile).toMatch(/PORT=9464/);
  });

  it('builds in one stage and ships only dist/, production dependencies and the SDKs', () => {
    expect(dockerfile).toMatch(/RUN npm ci/);
    expect(dockerfile).toMatch(/npm run build && npm prune --omit=dev/);
    expect(dockerfile).toMatch(/COPY --from=build \/app\/dist \.\/dist/);
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  it('keeps the sources the build needs in the docker context, and the rest out', () => {
    const ignored = readRepoFile('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git', 'test']));
    for (const needed of ['src', 'package.json', 'package-lock.json', 'tsconfig.json'])
      expect(ignored).not.toContain(needed);
  });
});

/**
 * `docker compose config` (the v2 plugin) where it exists, else Debian's `docker-compose` (v1), which validates
 * the same file; CI installs the latter. Neither needs an engine. Missing both: a loud skip, a failure in CI.
 */
function composeValidator(): string[] | undefined {
  if (spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0) return ['docker-compose'];
  return undefined;
}
const validator = composeValidator();
if (!validator) {
  const message =
    '`docker compose config` cannot run: neither the docker compose plugin nor docker-compose is installed ' +
    '(apt-get install -y --no-install-recommends docker-compose)';
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n!!! SKIPPING ${message}; docker-compose.yml was checked by reading it only\n`);
}

describe.skipIf(!validator)('docker compose', () => {
  it('accepts docker-compose.yml (docker compose config)', () => {
    const [command, ...args] = validator!;
    const result = spawnSync(command!, [...args, '-f', 'docker-compose.yml', 'config', '--quiet'], {
      cwd: REPO,
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
  });
});
