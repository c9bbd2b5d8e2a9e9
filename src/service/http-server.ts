import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';
import { ServiceListenError } from '../errors/index.js';

export interface ListeningServer {
  server: http.Server;
  /** `http://host:port`, with the port actually bound (PORT=0 picks a free one). */
  url: string;
  port: number;
  /** Requests being handled right now. */
  readonly inFlight: number;
  /**
   * Stops accepting, lets in-flight requests finish until `deadline` (epoch ms), then cuts whatever is
   * left. Resolves true when everything finished in time.
   */
  drain(deadline: number): Promise<boolean>;
}

export async function listen(handler: RequestListener, host: string, port: number): Promise<ListeningServer> {
  const server = http.createServer(handler);
  let inFlight = 0;
  let draining = false;
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      // While draining, a keep-alive socket that just went idle is closed instead of waiting for a next request.
      if (draining) server.closeIdleConnections();
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(new ServiceListenError(host, port, error.code ?? 'UNKNOWN', { cause: error }));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });

  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    url: `http://${shownHost}:${bound}`,
    port: bound,
    get inFlight() {
      return inFlight;
    },
    async drain(deadline) {
      draining = true;
      const closed = new Promise<boolean>((resolve) => server.close(() => resolve(true)));
      server.closeIdleConnections();
      const late = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
        timer.unref();
        void closed.then(() => clearTimeout(timer));
      });
      const inTime = await Promise.race([closed, late]);
      if (!inTime) {
        server.closeAllConnections();
        await closed;
      }
      return inTime;
    },
  };
}
