import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, tlsOptions } from '../../src/adapters/postgres/client.ts';
import { ConfigurationError } from '../../src/core/errors.ts';

const RDS_BUNDLE = path.join(import.meta.dirname, '..', '..', 'certs', 'rds-global-bundle.pem');

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A throwaway CA and a server certificate for `localhost` signed by it (openssl, two days). */
function makeCertificates(dir: string) {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Pulse test CA',
  );
  run(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=localhost',
  );
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
  run(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  );
  return {
    ca: path.join(dir, 'ca.pem'),
    key: readFileSync(path.join(dir, 'server.key')),
    cert: readFileSync(path.join(dir, 'server.pem')),
  };
}

/**
 * The TLS half of a PostgreSQL server: answers the SSLRequest with 'S', completes the handshake with
 * the given certificate, then refuses the startup message with an error whose text says TLS worked.
 */
function startTlsPostgres(key: Buffer, cert: Buffer): Promise<{ port: number; server: Server }> {
  const server = createServer((socket: Socket) => {
    socket.once('data', () => {
      socket.write('S');
      const tls = new TLSSocket(socket, { isServer: true, key, cert });
      tls.once('data', () => {
        const fields = Buffer.from(
          'SFATAL\0C28000\0Mhandshake verified, startup refused by the test server\0\0',
        );
        const header = Buffer.alloc(5);
        header.write('E', 0);
        header.writeInt32BE(fields.length + 4, 1);
        tls.end(Buffer.concat([header, fields]));
      });
      tls.on('error', () => socket.destroy());
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) =>
    server.listen(0, () => resolve({ port: (server.address() as AddressInfo).port, server })),
  );
}

describe.skipIf(!hasOpenssl())('database TLS', () => {
  let certs: ReturnType<typeof makeCertificates>;
  let server: Server;
  let port: number;
  beforeAll(async () => {
    certs = makeCertificates(mkdtempSync(path.join(tmpdir(), 'pulse-tls-')));
    ({ server, port } = await startTlsPostgres(certs.key, certs.cert));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const attempt = async (host: string, options: Parameters<typeof connect>[1]) => {
    const sql = connect(`postgres://pulse:secret@${host}:${port}/pulse`, {
      max: 1,
      connectTimeoutSeconds: 5,
      ...options,
    });
    try {
      await sql`select 1`;
      return 'connected';
    } catch (error) {
      return `${(error as { code?: string }).code ?? ''} ${(error as Error).message}`;
    } finally {
      await sql.end({ timeout: 1 });
    }
  };

  it('verify-full completes the handshake with a server whose certificate chains to the bundle and names the host', async () => {
    expect(await attempt('localhost', { ssl: 'verify-full', caFile: certs.ca })).toMatch(
      /handshake verified/,
    );
  });

  it('verify-full refuses a server the bundle does not vouch for (the RDS bundle does not know this CA)', async () => {
    expect(await attempt('localhost', { ssl: 'verify-full', caFile: RDS_BUNDLE })).toMatch(
      /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|self.signed/i,
    );
  });

  it('verify-full refuses a certificate for another host, also when the host is an IP address', async () => {
    expect(await attempt('127.0.0.1', { ssl: 'verify-full', caFile: certs.ca })).toMatch(
      /ERR_TLS_CERT_ALTNAME_INVALID|altnames/i,
    );
  });

  it('require encrypts but checks nothing: it talks to the same unknown server (why Pulse uses verify-full)', async () => {
    expect(await attempt('127.0.0.1', { ssl: 'require' })).toMatch(/handshake verified/);
  });

  it('verify-full without a CA bundle is a configuration error, not a silent downgrade', () => {
    expect(() => tlsOptions('verify-full', undefined)).toThrow(ConfigurationError);
    expect(() => tlsOptions('verify-full', '/nonexistent/bundle.pem')).toThrow(
      /cannot read the database CA bundle/,
    );
    expect(tlsOptions('verify-full', certs.ca)).toEqual({
      ca: readFileSync(certs.ca, 'utf8'),
      rejectUnauthorized: true,
    });
  });
});
