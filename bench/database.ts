import { randomBytes } from 'node:crypto';
import { createPostgresStores } from '../src/adapters/postgres/stores.ts';
import { join } from 'node:path';
import postgres from 'postgres';
import { freePort, startEphemeralDatabase } from '../src/adapters/embedded-db.ts';
import { clientOptions, type Sql } from '../src/adapters/postgres/client.ts';
import { runMigrations } from '../src/adapters/postgres/migrate.ts';
import type { SeriesInfo } from '../src/core/series.ts';
import { generateSyntheticSeries, mulberry32 } from '../src/core/synthetic.ts';
import { HOUR_MS } from '../src/core/time.ts';

/** A PostgreSQL server for the bench: the local embedded one it starts, or one it was given. */
export interface BenchServer {
  /** URL of a database on this server. */
  url(database: string): string;
  /** A fresh, migrated database; dropped by `close()`. */
  createDatabase(label: string): Promise<BenchDatabase>;
  close(): Promise<void>;
}

export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  /** Client with the options of `connect()` (src/adapters/postgres/client.ts) plus a statement counter. */
  readonly sql: Sql;
  /** Statements sent since the last reset: each is one round trip to the server (a few more when first prepared). */
  readonly queries: { count: number };
}

const TEMPLATE = 'pulse_bench_template';

/**
 * Starts an embedded PostgreSQL under .pulse/ (or uses `adminUrl`'s server), migrates a template
 * database once and clones it for every scenario, so scenarios never see each other's rows. `settings`
 * (`-c name=value` at start) are for a server the bench starts; the default is PostgreSQL's own defaults.
 */
export async function startBenchServer(
  repoRoot: string,
  adminUrl?: string,
  settings?: Readonly<Record<string, string>>,
): Promise<BenchServer> {
  let stop = async () => {};
  let urlOf: (db: string) => string;
  if (adminUrl) {
    urlOf = (db) => adminUrl.replace(/\/[^/]*$/, `/${db}`);
  } else {
    const log: string[] = [];
    const running = await startEphemeralDatabase({
      dataDir: join(repoRoot, '.pulse', `bench-pg-${process.pid}${settings ? '-sized' : ''}`),
      port: await freePort(),
      settings,
      onLog: (line) => log.push(line),
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${log.slice(-20).join('\n')}`);
    });
    urlOf = running.url;
    stop = running.stop;
  }
  const admin = postgres(urlOf('postgres'), { max: 1, onnotice: () => undefined });
  const template = `${TEMPLATE}_${randomBytes(4).toString('hex')}`;
  await admin.unsafe(`create database ${template}`);
  const t = postgres(urlOf(template), { max: 1, onnotice: () => undefined });
  await runMigrations(t);
  await t.end();
  const created: BenchDatabase[] = [];
  return {
    url: urlOf,
    async createDatabase(label) {
      const name = `bench_${label}_${randomBytes(4).toString('hex')}`;
      await admin.unsafe(`create database ${name} template ${template}`);
      const url = urlOf(name);
      const queries = { count: 0 };
      // connect()'s settings (src/adapters/postgres/client.ts) on one connection, with a longer statement
      // timeout for the set-ups, plus the debug hook that counts.
      const sql = postgres(url, {
        ...clientOptions(url, { max: 1, ssl: false }),
        connection: { application_name: 'pulse-bench', statement_timeout: 600_000 },
        debug: () => {
          queries.count++;
        },
      });
      const db = { name, url, sql, queries };
      created.push(db);
      return db;
    },
    async close() {
      for (const db of created) {
        await db.sql.end({ timeout: 1 }).catch(() => undefined);
        await admin.unsafe(`drop database if exists ${db.name} with (force)`).catch(() => undefined);
      }
      await admin.unsafe(`drop database if exists ${template} with (force)`).catch(() => undefined);
      await admin.end();
      await stop();
    },
  };
}

/** Series named bench-0001 … with Türkiye's calendar (the shipped model's). */
export async function createSeries(sql: Sql, count: number): Promise<SeriesInfo[]> {
  const defs = Array.from({ length: count }, (_, i) => ({
    name: `bench-${String(i + 1).padStart(4, '0')}`,
    country: 'TR',
    timezone: 'Europe/Istanbul',
  }));
  return createPostgresStores(sql).series.ensureSeries(defs);
}

/** Hourly actuals of many series in column form, ready for one unnest insert. */
export interface ActualColumns {
  readonly ids: number[];
  readonly hours: number[];
  readonly values: number[];
}

/**
 * Synthetic actuals for every series over [from, to]: a few distinct national-looking curves, each
 * series a scaled copy with its own small noise, so 1,000 series are quick to make and still differ.
 * Ordered by hour, then series, so a prefix is "everything that has arrived so far".
 */
export function syntheticActuals(series: readonly SeriesInfo[], from: number, to: number): ActualColumns {
  const shapes = Array.from({ length: Math.min(8, series.length) }, (_, k) =>
    generateSyntheticSeries({ from, to, seed: 101 + k }),
  );
  const random = mulberry32(7);
  const scales = series.map(() => 0.05 + random() * 1.5);
  const out: ActualColumns = { ids: [], hours: [], values: [] };
  const hours = shapes[0]!.length;
  for (let h = 0; h < hours; h++) {
    series.forEach((s, i) => {
      const row = shapes[i % shapes.length]![h]!;
      out.ids.push(s.id);
      out.hours.push(row.hour);
      out.values.push(Math.round(row.value * scales[i]! * (1 + (random() - 0.5) * 0.004) * 100) / 100);
    });
  }
  return out;
}

/** Stores the actuals with hour in [from, to] (one unnest insert per 100k rows; ingest is not measured). */
export async function insertActuals(
  sql: Sql,
  data: ActualColumns,
  from: number,
  to: number,
): Promise<number> {
  const first = data.hours.findIndex((h) => h >= from);
  if (first < 0) return 0;
  let end = data.hours.findIndex((h) => h > to);
  if (end < 0) end = data.hours.length;
  for (let i = first; i < end; i += 100_000) {
    const j = Math.min(end, i + 100_000);
    await sql`
      insert into actuals (series_id, hour, value)
      select id, to_timestamp(h / 1000.0), v
      from unnest(${data.ids.slice(i, j)}::int[], ${data.hours.slice(i, j)}::float8[], ${data.values.slice(i, j)}::float8[])
        as t(id, h, v)`;
  }
  return end - first;
}

/** Synthetic actuals for every series over [from, to], stored at once, statistics refreshed. */
export async function seedActuals(
  sql: Sql,
  series: readonly SeriesInfo[],
  from: number,
  to: number,
): Promise<number> {
  const n = await insertActuals(sql, syntheticActuals(series, from, to), from, to);
  await sql`analyze`;
  return n;
}

/** Bytes per row of a table including its indexes (and its partitions), for the storage estimates. */
export async function bytesPerRow(
  sql: Sql,
  table: 'forecasts' | 'scores' | 'actuals',
  /** What one row is counted as: the table's own rows, or the forecasts/scores of a view over it. */
  per: 'predictions' | 'evaluations' | 'actuals' = table === 'actuals'
    ? 'actuals'
    : table === 'forecasts'
      ? 'predictions'
      : 'evaluations',
): Promise<number> {
  await sql.unsafe(`vacuum analyze ${table}`);
  const [row] = await sql<{ bytes: string; n: string }[]>`
    select (select sum(pg_total_relation_size(c.oid)) from pg_class c
            where c.oid = ${table}::regclass
               or c.oid in (select inhrelid from pg_inherits where inhparent = ${table}::regclass))::text as bytes,
           (select count(*) from ${sql(per)})::text as n`;
  const n = Number(row!.n);
  return n > 0 ? Number(row!.bytes) / n : NaN;
}

export const hoursIn = (from: number, to: number) => Math.round((to - from) / HOUR_MS) + 1;
