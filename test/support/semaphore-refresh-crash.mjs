// redis-semaphore used as its README shows, with its own refresh timer: a lease held while Redis goes away.
import { once } from 'node:events';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Semaphore } = require('redis-semaphore');
const Redis = require('ioredis');

const client = new Redis(process.argv[2], { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
client.on('error', () => undefined);
await once(client, 'ready');
const semaphore = new Semaphore(client, 'refresh-crash', 1, {
  lockTimeout: 300,
  refreshInterval: 50,
  onLockLost: () => undefined,
});
await semaphore.acquire();
process.send('acquired');
setInterval(() => undefined, 1_000); // alive until something ends the process
