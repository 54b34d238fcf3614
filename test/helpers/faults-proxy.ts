import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of the suite's PostgreSQL that a test can take down and bring back on the same
 * port: down, the port refuses connections (ECONNREFUSED, like a stopped server) and open connections
 * are cut; up again, new connections reach the database.
 */
export interface DatabaseProxy {
  readonly port: number;
  /** The URL of `database` through the proxy (same user and password as `targetUrl`). */
  url(database: string): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
  /**
   * Cuts the next connection whose client sends `pattern`, in the middle of that message: the bytes up
   * to and including the pattern reach the database, the rest and the connection do not. Resolves
   * when it has cut.
   */
  cutWhenClientSends(pattern: Buffer): Promise<void>;
}

export async function startDatabaseProxy(targetUrl: string): Promise<DatabaseProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let trap: { pattern: Buffer; cut: () => void } | undefined;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.on('data', (chunk: Buffer) => {
          const at = trap ? chunk.indexOf(trap.pattern) : -1;
          if (at < 0 || !trap) {
            if (!upstream.write(chunk)) client.pause();
            return;
          }
          const { pattern, cut } = trap;
          trap = undefined;
          upstream.write(chunk.subarray(0, at + pattern.length), () => {
            client.destroy();
            upstream.destroy();
            cut();
          });
        });
        upstream.on('drain', () => client.resume());
        upstream.pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const address = server!.address();
        if (typeof address === 'object' && address) port = address.port;
        resolve();
      });
    });

  const stop = async () => {
    for (const s of sockets) s.destroy();
    const running = server;
    server = undefined;
    if (running) await new Promise<void>((resolve) => running.close(() => resolve()));
  };

  await listen();
  return {
    get port() {
      return port;
    },
    url(database: string) {
      const url = new URL(targetUrl);
      url.port = String(port);
      url.pathname = `/${database}`;
      return url.toString();
    },
    stop,
    start: listen,
    close: stop,
    cutWhenClientSends(pattern: Buffer) {
      return new Promise<void>((cut) => (trap = { pattern, cut }));
    },
  };
}
