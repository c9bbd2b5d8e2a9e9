// A node:cluster app as the docs show it (poolscope as built): 2 workers each send REQUESTS requests through their
// pool; the primary serves every worker's metrics as one /metrics and tells the test its port.
import cluster from 'node:cluster';
import http from 'node:http';
import { clusterMetricsHandler, createPool, shareMetricsWithPrimary } from 'poolscope';

const origin = process.env.UPSTREAM_ORIGIN;

if (cluster.isPrimary) {
  const workers = [3, 5].map((requests) => cluster.fork({ REQUESTS: String(requests) }));
  await Promise.all(
    workers.map((worker) => new Promise((resolve) => worker.on('message', (m) => m === 'done' && resolve()))),
  );
  const server = http.createServer(clusterMetricsHandler());
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => {
    for (const worker of workers) worker.kill();
    server.close();
  });
} else {
  shareMetricsWithPrimary();
  const pool = createPool({ name: 'clustered', origin, connections: 4 });
  for (let i = 0; i < Number(process.env.REQUESTS); i++) await (await pool.fetch(`${origin}/`)).text();
  process.send('done');
}
