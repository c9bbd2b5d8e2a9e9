import { once } from 'node:events';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface CountingServer {
  server: http.Server;
  origin: string;
  port: number;
  /** Sockets accepted since start, open now, and the most open at once. */
  sockets: { accepted: number; open: number; peak: number };
  /** Requests the handler has seen. */
  requests: number;
  /** Resolves once the server has seen `n` requests in total. */
  waitForRequests(n: number): Promise<void>;
  /** Destroys every socket and stops listening (the upstream "dies"). */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A node:http server on 127.0.0.1:0 that counts the sockets it accepts. */
export async function startCountingServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  port = 0,
): Promise<CountingServer> {
  const open = new Set<Socket>();
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const server = http.createServer((req, res) => {
    state.requests++;
    for (const waiter of waiters.filter((w) => state.requests >= w.n)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    handler(req, res);
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket: Socket) => {
    state.sockets.accepted++;
    open.add(socket);
    state.sockets.open = open.size;
    state.sockets.peak = Math.max(state.sockets.peak, open.size);
    socket.on('close', () => {
      open.delete(socket);
      state.sockets.open = open.size;
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const actualPort = (server.address() as AddressInfo).port;
  const state: CountingServer = {
    server,
    origin: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    sockets: { accepted: 0, open: 0, peak: 0 },
    requests: 0,
    waitForRequests(n) {
      if (state.requests >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    async kill() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of open) socket.destroy();
      await closed;
    },
    async restart() {
      server.listen(actualPort, '127.0.0.1');
      await once(server, 'listening');
    },
    async close() {
      if (!server.listening) return;
      await state.kill();
    },
  };
  return state;
}

/** A handler that parks responses until the test releases them (`done` as their body), oldest first. */
export function parkedResponses() {
  const waiting: ServerResponse[] = [];
  return {
    handler: (_req: unknown, res: ServerResponse) => void waiting.push(res),
    releaseOldest: () => waiting.shift()?.end('done'),
    releaseAll() {
      for (const res of waiting.splice(0)) res.end('done');
    },
  };
}
