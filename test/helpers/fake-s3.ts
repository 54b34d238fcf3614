import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeS3 {
  /** `http://127.0.0.1:<port>`: AWS_ENDPOINT_URL_S3 (an IP endpoint makes the SDK address buckets by path). */
  readonly endpoint: string;
  /** Objects by "bucket/key". */
  readonly objects: Map<string, Buffer>;
  close(): Promise<void>;
}

/**
 * S3's PutObject and GetObject on 127.0.0.1, bytes kept in memory (binary-safe: the tensors are
 * float32). Anything else is a 501. Clients should send plain bodies
 * (AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED: no aws-chunked encoding).
 */
export async function startFakeS3(): Promise<FakeS3> {
  const objects = new Map<string, Buffer>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const key = decodeURIComponent(url.pathname.replace(/^\//, ''));
      if (req.method === 'PUT' && !url.search.includes('uploads')) {
        objects.set(key, Buffer.concat(chunks));
        res.writeHead(200, { ETag: '"fake"' }).end();
      } else if (req.method === 'GET' && !url.searchParams.has('list-type')) {
        const body = objects.get(key);
        if (body) res.writeHead(200, { 'Content-Length': body.length }).end(body);
        else
          res
            .writeHead(404, { 'Content-Type': 'application/xml' })
            .end(
              `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>${key}</Key></Error>`,
            );
      } else {
        res.writeHead(501).end();
      }
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    objects,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
