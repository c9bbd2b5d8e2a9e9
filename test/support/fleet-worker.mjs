// One process of a fleet: poolscope as built (self-referenced by package name), its pools described by the JSON in
// argv[2], driven by the test over IPC. Replies { id, ... }; relays the fleet budget's log lines as { log, msg }.
import { Registry } from 'prom-client';
import { createPool } from 'poolscope';

const config = JSON.parse(process.argv[2]);
const registry = new Registry();
const logger = {
  warn: (_obj, msg) => process.send({ log: 'warn', msg }),
  info: (_obj, msg) => process.send({ log: 'info', msg }),
};
const pools = Object.fromEntries(
  config.pools.map((p) => [
    p.name,
    createPool({
      name: p.name,
      origin: config.origin,
      connections: p.local,
      registry,
      retry: false,
      timeouts: { acquireMs: p.acquireMs ?? 10_000 },
      fleet: {
        redis: config.redis,
        key: p.key,
        maxConcurrent: p.cap,
        leaseMs: p.leaseMs,
        onUnavailable: p.onUnavailable ?? 'local',
        logger,
      },
    }),
  ]),
);

process.on('message', async (message) => {
  if (message.cmd === 'run') {
    const pool = pools[message.pool];
    const outcomes = await Promise.all(
      Array.from({ length: message.count }, async () => {
        const startedAt = performance.now();
        try {
          await (await pool.fetch(`${config.origin}${message.path ?? '/'}`)).text();
          return { ok: true, ms: performance.now() - startedAt };
        } catch (error) {
          return { ok: false, code: error?.code ?? error?.name, ms: performance.now() - startedAt };
        }
      }),
    );
    process.send({ id: message.id, outcomes });
  } else if (message.cmd === 'metrics') {
    process.send({ id: message.id, text: await registry.metrics() });
  } else if (message.cmd === 'close') {
    await Promise.all(Object.values(pools).map((pool) => pool.close(1_000)));
    process.send({ id: message.id });
    process.disconnect();
  }
});
process.send({ ready: true });
