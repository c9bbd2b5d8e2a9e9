/**
 * A TCP proxy on 127.0.0.1:0 in front of a real server, that can hold the server's replies: the commands still
 * reach the server and run there, their answers wait in the proxy until the test lets them through. For races
 * between a server's answer and a caller giving up, driven deterministically.
 */
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** From now on, the server's bytes wait in the proxy. */
  holdReplies(): void;
  /** Lets every held byte through, and those after it. */
  releaseReplies(): void;
  /** Bytes the clients sent since `holdReplies()`. */
  readonly sentSinceHold: number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let holding = false;
  let sentSinceHold = 0;
  const held: Array<() => void> = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => sockets.delete(socket));
    }
    client.on('data', (chunk) => {
      if (holding) sentSinceHold += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (holding) held.push(() => client.write(chunk));
      else client.write(chunk);
    });
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    holdReplies() {
      holding = true;
      sentSinceHold = 0;
    },
    releaseReplies() {
      holding = false;
      for (const write of held.splice(0)) write();
    },
    get sentSinceHold() {
      return sentSinceHold;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
