import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A canned reply; `hang` never answers, so the client's timeout fires. */
export type FakeReply =
  | { readonly status?: number; readonly body?: string; readonly headers?: Record<string, string> }
  | { readonly hang: true };

export type FakeHandler = (request: RecordedRequest) => FakeReply | Promise<FakeReply>;

export interface FakeHttpServer {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /**
   * Answers `method path` with a handler, or with a list of replies served in order (the last one
   * repeats). A later call for the same route replaces the earlier one.
   */
  route(method: string, path: string, replies: FakeHandler | readonly FakeReply[]): void;
  requestsTo(method: string, path: string): RecordedRequest[];
  close(): Promise<void>;
}

/** A local HTTP server on 127.0.0.1 and a random port, serving canned replies to the code under test. */
export async function startFakeHttpServer(): Promise<FakeHttpServer> {
  const routes = new Map<string, FakeHandler>();
  const requests: RecordedRequest[] = [];
  const hanging = new Set<ServerResponse>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const handler = routes.get(`${recorded.method} ${recorded.path}`);
      if (!handler) {
        res
          .writeHead(404, { 'Content-Type': 'text/plain' })
          .end(`no route for ${recorded.method} ${recorded.path}`);
        return;
      }
      void Promise.resolve(handler(recorded)).then((reply) => {
        if ('hang' in reply) {
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
        }
        res.writeHead(reply.status ?? 200, { 'Content-Type': 'application/json', ...reply.headers });
        res.end(reply.body ?? '');
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    route(method, path, replies) {
      if (typeof replies === 'function') {
        routes.set(`${method} ${path}`, replies);
        return;
      }
      if (replies.length === 0) throw new Error('route needs at least one reply');
      let next = 0;
      routes.set(`${method} ${path}`, () => replies[Math.min(next++, replies.length - 1)]!);
    },
    requestsTo(method, path) {
      return requests.filter((r) => r.method === method && r.path === path);
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
