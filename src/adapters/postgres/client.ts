import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { hostname } from 'node:os';
import postgres from 'postgres';
import { ConfigurationError } from '../../core/errors.ts';

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

/**
 * TLS to the database, named after libpq's sslmode:
 * - `disable`: none (the local embedded PostgreSQL);
 * - `require`: encrypted but the server is not checked (only for a DATABASE_URL that asks for it);
 * - `verify-full`: the server's certificate must chain to `caFile` and name the host (RDS).
 */
export type SslMode = 'disable' | 'require' | 'verify-full';

export interface ConnectOptions {
  /** Pool size; a Lambda container needs one connection. */
  readonly max?: number;
  /** TLS mode; `true` is `require`, `false` is `disable`. @default 'disable' */
  readonly ssl?: boolean | SslMode;
  /** PEM file with the certificate authorities `verify-full` trusts (the RDS bundle in certs/). */
  readonly caFile?: string;
  readonly connectTimeoutSeconds?: number;
}

/** The `ssl` option of postgres.js for a mode: `{ ca, rejectUnauthorized: true }` verifies chain and host name. */
export function tlsOptions(
  mode: SslMode,
  caFile: string | undefined,
  host?: string,
): false | 'require' | { ca: string; rejectUnauthorized: true; host?: string } {
  if (mode === 'disable') return false;
  if (mode === 'require') return 'require';
  if (!caFile) {
    throw new ConfigurationError(
      'TLS mode verify-full needs the certificate authorities: set DATABASE_CA_BUNDLE to a PEM file',
    );
  }
  let ca: string;
  try {
    ca = readFileSync(caFile, 'utf8');
  } catch (error) {
    throw new ConfigurationError(
      `cannot read the database CA bundle ${caFile}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  // postgres.js hands this to tls.connect with servername = the host name, so Node checks the name as
  // well. For an IP address it sets no servername and Node would check against "localhost": `host`
  // makes it check the address itself.
  return { ca, rejectUnauthorized: true, ...(host ? { host } : {}) };
}
/**
 * This process's name on its connections (application_name, at most 63 bytes). Runs record it as their
 * holder: a 'running' run whose holder has no connection left was killed, and is reaped (run-log.ts).
 */
export const PROCESS_TAG = `pulse ${hostname().slice(0, 30)}:${process.pid}:${randomBytes(3).toString('hex')}`;

/**
 * A connection's socket with Nagle's algorithm off (TCP_NODELAY), as libpq opens its connections.
 * postgres.js leaves it on, so the small message that ends a COPY waited for the server's delayed
 * acknowledgement of the data before it (40 ms on Linux): a year's backfill spent a third of its write
 * time there. Returned unconnected-yet: postgres.js writes its start-up (or TLS) messages into it, which
 * the socket sends once connected, and handles its errors, timeouts and reconnects as for its own.
 * Pulse connects to one host (the URL's first).
 */
function noDelaySocket(options: { host: string[]; port: number[]; path?: string }): Socket {
  const socket = new Socket();
  socket.setNoDelay(true);
  if (options.path) return socket.connect(options.path);
  return Object.assign(socket.connect(options.port[0]!, options.host[0]!), {
    host: options.host[0],
    port: options.port[0],
  });
}

/** One client per process (or per Lambda container), with short timeouts so a dead database fails fast. */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, clientOptions(url, options));
}

/** connect()'s postgres.js options, for a client that adds to them (the bench counts its statements). */
export function clientOptions(
  url: string,
  options: ConnectOptions = {},
): postgres.Options<Record<string, postgres.PostgresType>> {
  const mode: SslMode =
    options.ssl === true
      ? 'require'
      : options.ssl === false || options.ssl === undefined
        ? 'disable'
        : options.ssl;
  return {
    max: options.max ?? 4,
    idle_timeout: 60,
    max_lifetime: 60 * 30,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    ssl: tlsOptions(mode, options.caFile, URL.canParse(url) ? new URL(url).hostname : undefined),
    onnotice: () => undefined,
    connection: { application_name: PROCESS_TAG, statement_timeout: 120_000 },
    // (an option of postgres.js 3.4 its types do not declare)
    ...({ socket: noDelaySocket } as object),
  };
}

// The connection died under a running statement (server restart, failover, a terminated backend).
const CONNECTION_LOST = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'ECONNRESET',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
]);

/** The error says the connection was lost while a statement ran (not that the statement was refused). */
export function isConnectionLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECTION_LOST.has(code);
}

/**
 * `sql.begin(work)`, safe when the connection dies inside the transaction. postgres.js (3.4.9) then
 * sends its ROLLBACK on the closed socket from a timer, where the TypeError it throws reaches no caller
 * and ends the process (porsager/postgres#1208). PostgreSQL rolls back the transaction of a dead
 * connection by itself, so here the connection error is returned at once and `work`'s failure is never
 * handed to sql.begin, which therefore sends nothing more on that connection.
 */
export function transaction<T>(sql: Sql, work: (tx: TransactionSql) => Promise<T>): Promise<T> {
  let lost: (error: unknown) => void = () => undefined;
  const connectionLost = new Promise<never>((_, reject) => (lost = reject));
  const begun = sql.begin((tx) =>
    work(tx).catch((error: unknown) => {
      if (!isConnectionLost(error)) throw error;
      lost(error);
      return new Promise<never>(() => undefined);
    }),
  ) as Promise<T>;
  return Promise.race([begun, connectionLost]);
}
