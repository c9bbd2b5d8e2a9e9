/**
 * A real `node:http2` TLS server (self-signed, as the simulators are) that behaves as servers and load balancers
 * do at HTTP/2's edges: it can refuse or reset streams, send a GOAWAY, limit concurrent streams, and hold
 * responses until a test lets them go.
 */
import http2 from 'node:http2';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { selfSignedCert } from '../../src/simulators/cert.js';

export interface H2Stream {
  stream: http2.ServerHttp2Stream;
  method: string;
  path: string;
  /** 1, 2, 3... across the server's life. */
  n: number;
  /** The stream's number within its session. */
  inSession: number;
  session: http2.Http2Session;
}

export interface H2ServerOptions {
  /** Called for every stream; answers `ok` unless it returns `'handled'`. */
  onStream?: (s: H2Stream) => 'handled' | void;
  /** SETTINGS_MAX_CONCURRENT_STREAMS the server announces. */
  maxConcurrentStreams?: number;
}

export interface H2Server {
  origin: string;
  ca: string;
  streams: H2Stream[];
  /** Sessions opened so far. */
  sessions: () => number;
  /** Streams open at once, at most, so far. */
  peakConcurrentStreams: () => number;
  /** Connections the server holds now. */
  connections: () => Promise<number>;
  close: () => Promise<void>;
}

export const { NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_INTERNAL_ERROR } = http2.constants;

export async function startH2Server(options: H2ServerOptions = {}): Promise<H2Server> {
  const { key, cert } = await selfSignedCert();
  const server = http2.createSecureServer({
    key,
    cert,
    ...(options.maxConcurrentStreams !== undefined && {
      settings: { maxConcurrentStreams: options.maxConcurrentStreams },
    }),
  });
  const streams: H2Stream[] = [];
  const live = new Set<http2.Http2Session>();
  const perSession = new WeakMap<http2.Http2Session, number>();
  let sessions = 0;
  let open = 0;
  let peak = 0;
  // Every socket, a session yet or not (one still in its TLS handshake at close would keep close() waiting).
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('session', (session) => {
    sessions++;
    live.add(session);
    session.on('error', () => undefined); // a client that goes away mid-stream
    session.once('close', () => live.delete(session));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    open++;
    peak = Math.max(peak, open);
    stream.once('close', () => open--);
    const session = stream.session!;
    const inSession = (perSession.get(session) ?? 0) + 1;
    perSession.set(session, inSession);
    const s: H2Stream = {
      stream,
      method: String(headers[':method']),
      path: String(headers[':path']),
      n: streams.length + 1,
      inSession,
      session,
    };
    streams.push(s);
    if (options.onStream?.(s) === 'handled') return;
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ca: cert,
    streams,
    sessions: () => sessions,
    peakConcurrentStreams: () => peak,
    connections: () => new Promise((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n)))),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of live) session.destroy();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** A graceful shutdown of `session`, as nginx does at `keepalive_requests`: GOAWAY(NO_ERROR), then close. */
export function goaway(session: http2.Http2Session, lastStreamID?: number): void {
  if (session.closed || session.destroyed) return;
  session.goaway(NGHTTP2_NO_ERROR, lastStreamID);
  session.close();
}
