import postgres from 'postgres';

export type Sql = postgres.Sql;

export interface ConnectOptions {
  /** Pool size; a Lambda container needs one connection. */
  readonly max?: number;
  /** Require TLS (RDS); local embedded PostgreSQL has none. */
  readonly ssl?: boolean;
  readonly connectTimeoutSeconds?: number;
}

/** One client per process (or per Lambda container), with short timeouts so a dead database fails fast. */
export function connect(url: string, options: ConnectOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 4,
    idle_timeout: 60,
    max_lifetime: 60 * 30,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    ssl: options.ssl ? 'require' : false,
    onnotice: () => undefined,
    connection: { application_name: 'pulse', statement_timeout: 120_000 },
  });
}
