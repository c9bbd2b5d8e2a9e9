import { once } from 'node:events';
import net from 'node:net';

export interface SilentListener {
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

/**
 * A TCP listener on 127.0.0.1:0 that accepts and never says a word: a TLS handshake to it never completes, a
 * database behind it never answers. `onAccept` may act on a connection (reset the first one, say).
 */
export async function startSilentListener(
  onAccept?: (socket: net.Socket, nth: number) => void,
): Promise<SilentListener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    onAccept?.(socket, sockets.size);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => sockets.size,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
