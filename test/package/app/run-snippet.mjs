// Runs one of the docs' snippets (compiled to JavaScript) as the module of a reader's app, after giving the names
// the docs use without defining them (globals.d.ts types them) a value. Reports on stdout, one JSON line each:
// every server the snippet starts listening, then `done` once the module (top-level awaits included) has run and
// every server it started is listening.
import { once } from 'node:events';
import net from 'node:net';
import { pathToFileURL } from 'node:url';

globalThis.authorization = process.env.SNIPPET_AUTHORIZATION ?? 'Bearer package-test';
globalThis.ownerId = process.env.SNIPPET_OWNER_ID ?? 'owner-1';
globalThis.SomeSdk = class SomeSdk {
  constructor(options) {
    if (typeof options?.fetch !== 'function') throw new TypeError('SomeSdk needs a fetch function');
  }
};
globalThis.sync = async () => {};

const report = (event, fields = {}) => process.stdout.write(`${JSON.stringify({ harness: event, ...fields })}\n`);

const listen = net.Server.prototype.listen;
const listening = [];
net.Server.prototype.listen = function (...args) {
  listening.push(
    once(this, 'listening').then(() => {
      const address = this.address();
      if (address && typeof address === 'object') report('listening', { port: address.port, address: address.address });
    }),
  );
  return listen.apply(this, args);
};

try {
  await import(pathToFileURL(process.argv[2]).href);
  await Promise.all(listening); // once() rejects with the server's 'error' (EADDRINUSE...)
  report('done');
} catch (error) {
  report('failed', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
}
