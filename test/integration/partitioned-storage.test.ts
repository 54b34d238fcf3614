import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Sql } from '../../src/adapters/postgres/client.ts';
import { loadMigrations, runMigrations } from '../../src/adapters/postgres/migrate.ts';
import { dashboardQueries } from '../helpers/dashboard-queries.ts';
import { serverUrl } from '../helpers/db.ts';
import { expandGrafanaSql } from '../helpers/grafana-macros.ts';
import { expectUnchanged, snapshotStore, type StoreSnapshot } from '../helpers/faults.ts';
import { expectSameSums } from '../helpers/sums.ts';

const FIRST = new Date('2025-01-20T00:00:00Z');
const LAST = new Date('2025-03-10T23:00:00Z');

/**
 * A database as the schema of 0001–0003 left it, filled the way the old code filled it: three series,
 * seven weeks of actuals across three months, every horizon of every origin, the scores of all matured
 * forecasts (some without an interval or a persistence reference, some fallbacks, one zero actual),
 * rollups of every horizon and a run log.
 */
async function fillVersion1(sql: Sql) {
  await sql`insert into model_versions (version, kind, window_hours, horizons) values ('m1', 'onnx', 168, 24)`;
  await sql`insert into series (name, country, timezone) values ('east', 'TR', 'Europe/Istanbul'), ('west', null, 'UTC'), ('north', 'ES', 'Europe/Madrid')`;
  await sql`
    insert into actuals (series_id, hour, value, revision_count)
    select s.id, h, case when s.name = 'west' and h = ${LAST}::timestamptz - interval '5 hours' then 0
                         else round((1000 * s.id + 200 * sin(extract(epoch from h) / 9000) + (extract(epoch from h)::bigint % 7))::numeric, 2)::float8 end,
           (extract(epoch from h)::bigint / 3600 % 11 = 0)::int
    from series s, generate_series(${FIRST}::timestamptz, ${LAST}::timestamptz, interval '1 hour') h`;
  await sql`
    insert into predictions (series_id, model_version, horizon, target_hour, method, value, lower_bound, upper_bound,
                             issued_at, last_input_hour, quality, reason, run_id)
    select s.id, 'm1', hz, o + hz * interval '1 hour',
           case when q = 'fallback' then 'seasonal-naive-168h' else 'm1' end,
           case when q = 'missed' then null else 1000 * s.id + 180 * sin(extract(epoch from o) / 9100) + hz end,
           case when q = 'ok' and hz % 5 <> 0 then 1000 * s.id - 150 end,
           case when q = 'ok' and hz % 5 <> 0 then 1000 * s.id + 150 end,
           o + interval '7 minutes', o, q, case when q = 'fallback' then 'stale: test' end, 1
    from series s, generate_series(${FIRST}::timestamptz, ${LAST}::timestamptz - interval '2 hours', interval '1 hour') o,
         generate_series(1, 24) hz,
         lateral (select case when extract(hour from o)::int = 3 then 'fallback'
                              when extract(hour from o)::int = 4 and s.name = 'north' then 'missed'
                              else 'ok' end as q) k`;
  await sql`
    insert into evaluations (series_id, model_version, horizon, target_hour, predicted, actual, error, abs_error,
                             squared_error, pct_error, persistence_abs_error, covered, quality, scored_at)
    select p.series_id, p.model_version, p.horizon, p.target_hour, p.value, a.value, p.value - a.value,
           abs(p.value - a.value), (p.value - a.value) ^ 2,
           case when a.value > 0 then abs(p.value - a.value) / a.value * 100 end,
           abs(a.value - pa.value),
           case when p.lower_bound is null or p.upper_bound is null then null
                else a.value between p.lower_bound and p.upper_bound end,
           p.quality, p.target_hour + interval '17 minutes'
    from predictions p
    join actuals a on a.series_id = p.series_id and a.hour = p.target_hour
    left join actuals pa on pa.series_id = p.series_id and pa.hour = p.last_input_hour
                        and p.horizon % 7 <> 0 -- some without a persistence reference
    where p.value is not null`;
  await sql`
    insert into metric_rollups (series_id, model_version, horizon, window_name, window_end, n, mae)
    select s.id, 'm1', hz, w, ${LAST}, 24, 12.5 from series s, generate_series(0, 24) hz, unnest(array['24h', '7d', '30d']) w`;
  await sql`insert into runs (function_name, outcome, details) values ('evaluate', 'success', '{"scored": 1}')`;
}

/** The error sums recomputed from the raw evaluations, per hour or per UTC day. */
function sumsFromScratch(sql: Sql, per: 'hour' | 'day') {
  const bucket = per === 'hour' ? sql`target_hour` : sql`date_trunc('day', target_hour, 'UTC')`;
  return sql<Record<string, string | number>[]>`
    select series_id, model_version, extract(epoch from ${bucket})::float8 as at, count(*)::int as n,
           sum(abs_error) as abs_error_sum, sum(squared_error) as squared_error_sum, sum(error) as error_sum,
           coalesce(sum(pct_error), 0) as pct_error_sum, count(pct_error)::int as pct_error_n,
           coalesce(sum(persistence_abs_error), 0) as persistence_abs_error_sum,
           count(persistence_abs_error)::int as persistence_n,
               coalesce(sum(abs_error) filter (where persistence_abs_error is not null), 0) as skill_abs_error_sum, count(*) filter (where covered)::int as covered_n,
           count(covered)::int as interval_n, count(*) filter (where quality = 'fallback')::int as fallback_n
    from evaluations group by 1, 2, 3 order by 1, 2, 3`;
}

function storedSums(sql: Sql, per: 'hour' | 'day') {
  const table = per === 'hour' ? sql`error_hours` : sql`error_days`;
  const column = per === 'hour' ? sql`hour` : sql`day`;
  return sql<Record<string, string | number>[]>`
    select series_id, model_version, extract(epoch from ${column})::float8 as at, n, abs_error_sum,
           squared_error_sum, error_sum, pct_error_sum, pct_error_n, persistence_abs_error_sum, persistence_n,
           skill_abs_error_sum, covered_n, interval_n, fallback_n
    from ${table} order by 1, 2, 3`;
}

/** Every guarded row; actuals by the columns of 0001 (later migrations add columns to actuals). */
async function snapshot(sql: Sql): Promise<StoreSnapshot> {
  const all = await snapshotStore(sql);
  const actuals = await sql<{ k: string; v: string }[]>`
    select series_id || '|' || hour::text as k,
           concat_ws('|', value, first_received_at, last_received_at, revision_count, changed_xid) as v
    from actuals`;
  return { ...all, actuals: new Map(actuals.map((r) => [r.k, r.v])) };
}

/** The rows of forecasts made from `since` on (retention keeps or drops a forecast origin with all its horizons). */
function rowsFrom(snapshot: StoreSnapshot, since: Date): StoreSnapshot {
  const keep = (map: Map<string, string>) =>
    new Map(
      [...map].filter(([key]) => {
        const [, , horizon, target] = key.split('|');
        const origin =
          new Date(target!.replace(' ', 'T').replace(/\+00$/, 'Z')).getTime() - Number(horizon) * 3_600_000;
        return origin >= since.getTime();
      }),
    );
  return {
    actuals: snapshot.actuals,
    predictions: keep(snapshot.predictions),
    evaluations: keep(snapshot.evaluations),
  };
}

describe('partitioned storage', () => {
  const name = `pulse_partitions_${process.pid}`;
  let admin: postgres.Sql;
  let sql: Sql;

  beforeAll(async () => {
    admin = postgres(serverUrl(), { max: 1, onnotice: () => undefined });
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.unsafe(`create database ${name}`);
    sql = connect(serverUrl(name), { max: 2 });
  });
  afterAll(async () => {
    await sql.end({ timeout: 1 });
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });

  it('migrates a database filled by the schema of 0001–0003 without losing or changing a row', async () => {
    const all = loadMigrations();
    await runMigrations(
      sql,
      all.filter((m) => m.id < '0004'),
    );
    await fillVersion1(sql);
    const before = await snapshot(sql);
    const origins = (LAST.getTime() - 2 * 3_600_000 - FIRST.getTime()) / 3_600_000 + 1;
    expect(before.predictions.size).toBe(3 * origins * 24);
    expect(before.evaluations.size).toBeGreaterThan(3 * (origins - 24) * 23);
    const [{ n: rollupsBefore }] =
      (await sql`select count(*)::int as n from metric_rollups where horizon = 0`) as unknown as [
        { n: number },
      ];

    await runMigrations(sql, all);

    expectUnchanged(before, await snapshot(sql));
    const months = await sql<{ parent: string; partition: string }[]>`
      select parent, partition from storage_partitions where month_start < '2025-04-01' order by 1, 2`;
    expect(months.map((m) => m.partition)).toEqual([
      'forecasts_p2025_01',
      'forecasts_p2025_02',
      'forecasts_p2025_03',
      'scores_p2025_01',
      'scores_p2025_02',
      'scores_p2025_03',
    ]);
    // One row per origin and per scored hour (0070); the old tables are views with their columns.
    const kinds = await sql<{ name: string; kind: string }[]>`
      select relname::text as name, relkind::text as kind from pg_class
      where relname in ('forecasts', 'scores', 'predictions', 'evaluations') order by 1`;
    expect(kinds).toEqual([
      { name: 'evaluations', kind: 'v' },
      { name: 'forecasts', kind: 'p' },
      { name: 'predictions', kind: 'v' },
      { name: 'scores', kind: 'p' },
    ]);
    const [stored] = await sql<{ forecasts: number; scores: number }[]>`
      select (select count(*) from forecasts)::int as forecasts, (select count(*) from scores)::int as scores`;
    expect(stored!.forecasts).toBe(3 * origins);
    expectSameSums(await storedSums(sql, 'hour'), await sumsFromScratch(sql, 'hour'));
    expectSameSums(await storedSums(sql, 'day'), await sumsFromScratch(sql, 'day'));
    const rollups = await sql<
      { horizon: number; n: number }[]
    >`select horizon, count(*)::int as n from metric_rollups group by 1`;
    expect(rollups).toEqual([{ horizon: 0, n: rollupsBefore }]);
  });

  /** The forecast dashboard's panels over January for series 'east', as Grafana would run them. */
  async function januaryPanels() {
    const [east] = await sql<{ id: number }[]>`select id from series where name = 'east'`;
    const panels = [
      'panel: Rolling MAE A',
      'panel: Rolling RMSE A',
      'panel: Rolling MAPE A',
      'panel: Daily skill vs persistence A',
      'panel: Error by hour of day A',
    ];
    const out: Record<string, unknown[]> = {};
    for (const key of panels) {
      const query = dashboardQueries('forecast').find((q) => q.key === key)!;
      const text = expandGrafanaSql(query.rawSql, {
        from: Date.UTC(2025, 0, 22),
        to: Date.UTC(2025, 0, 31, 23),
        intervalMs: 3_600_000,
        variables: {
          series: { value: String(east!.id), multi: false },
          model: { value: 'm1', multi: false },
        },
      });
      out[key] = [...(await sql.unsafe(text))];
    }
    return out;
  }

  it('leaves an expired month a reader is using for a later hour, without making the reader wait', async () => {
    // A dashboard query in progress on the evaluations view: it holds scores and forecasts, January included.
    const reader = await sql.reserve();
    await reader`begin`;
    await reader`select count(*) from evaluations`;
    const housekeeper = connect(serverUrl(name), { max: 1 });
    try {
      await housekeeper`update storage_settings set raw_retention = interval '1 month'`;
      // A drop waiting for the reader would run into this (and queue every later query behind it).
      await housekeeper`set statement_timeout = '10s'`;
      const [result] = await housekeeper<{ created: number; dropped: string[] }[]>`
        select (pulse_maintain_storage(now())).*`;
      expect(result!.dropped).toEqual([]);
      // The reader goes on, with January still there.
      const [seen] = await reader<{ n: number }[]>`
        select count(*)::int as n from evaluations where target_hour < '2025-02-01T00:00Z'`;
      expect(seen!.n).toBeGreaterThan(0);
      // The lock timeout was for the drops only.
      const [setting] = await housekeeper<{ lock_timeout: string }[]>`show lock_timeout`;
      expect(setting!.lock_timeout).toBe('0');
    } finally {
      await reader`rollback`;
      reader.release();
      await housekeeper`reset statement_timeout`;
      await housekeeper`update storage_settings set raw_retention = interval '13 months'`;
      await housekeeper.end();
    }
    const months = await sql<{ partition: string }[]>`
      select partition from storage_partitions where month_start = '2025-01-01' order by 1`;
    expect(months.map((m) => m.partition)).toEqual(['forecasts_p2025_01', 'scores_p2025_01']);
  });

  it('drops whole expired months only, never a newer row, and keeps the error sums', async () => {
    const panelsBefore = await januaryPanels();
    for (const rows of Object.values(panelsBefore)) expect(rows.length).toBeGreaterThan(5);
    const before = await snapshot(sql);
    const sumsBefore = await storedSums(sql, 'hour');
    // Not fed any more: retention counts from the newest scored hour (2025-03-10), not from today.
    const [kept] = await sql<{ dropped: string[] }[]>`select (pulse_maintain_storage(now())).dropped`;
    expect(kept!.dropped).toEqual([]);

    await sql`update storage_settings set raw_retention = interval '1 month'`;
    const [result] = await sql<{ dropped: string[] }[]>`select (pulse_maintain_storage(now())).dropped`;
    // Cutoff 2025-02-10T23:00Z: January has expired entirely (forecasts made in it, scores of its hours),
    // February has not.
    expect(result!.dropped).toEqual(['forecasts_p2025_01', 'scores_p2025_01']);
    const after = await snapshot(sql);
    expectUnchanged(rowsFrom(before, new Date('2025-02-01T00:00:00Z')), after);
    const [oldest] = await sql<{ t: Date }[]>`select min(last_input_hour) as t from predictions`;
    expect(oldest!.t.toISOString()).toBe('2025-02-01T00:00:00.000Z');
    expect(await storedSums(sql, 'hour')).toEqual(sumsBefore);
    // The dashboards still answer for January, from the sums, with the same figures.
    const panelsAfter = await januaryPanels();
    for (const [key, rows] of Object.entries(panelsBefore)) {
      // The same figures, up to the order the database adds the hours in (not fixed by any plan).
      expectSameSums(panelsAfter[key] as Record<string, unknown>[], rows as Record<string, unknown>[]);
    }

    // The app role may ask for housekeeping and partitions, but not change the retention.
    const [grants] = await sql`
      select has_function_privilege('pulse_app', 'pulse_maintain_storage(timestamptz)', 'execute') as maintain,
             has_function_privilege('pulse_app', 'pulse_ensure_partitions(timestamptz, timestamptz)', 'execute') as ensure,
             has_table_privilege('pulse_app', 'storage_settings', 'update') as settings,
             has_table_privilege('pulse_reader', 'error_hours', 'select') as reader`;
    expect(grants).toEqual({ maintain: true, ensure: true, settings: false, reader: true });
  });

  it('makes the partitions a write needs, once, also when two writers ask at the same time', async () => {
    const other = connect(serverUrl(name), { max: 1 });
    const created = await Promise.all(
      [sql, other].map(
        (s) =>
          s<{ n: number }[]>`select pulse_ensure_partitions('2019-11-05T00:00Z', '2020-02-01T00:00Z') as n`,
      ),
    );
    await other.end();
    expect(created.map(([r]) => r!.n).sort()).toEqual([0, 8]);
    const months = await sql<{ partition: string }[]>`
      select partition from storage_partitions where parent = 'forecasts' and month_start < '2021-01-01' order by 1`;
    expect(months.map((m) => m.partition)).toEqual([
      'forecasts_p2019_11',
      'forecasts_p2019_12',
      'forecasts_p2020_01',
      'forecasts_p2020_02',
    ]);
  });

  it('makes a new month while a reader holds the tables, without waiting for it (no deadlock with readers)', async () => {
    // A dashboard query in progress: it has locked scores and forecasts (the views read both).
    const reader = await sql.reserve();
    await reader`begin`;
    await reader`select count(*) from evaluations`;
    const maker = connect(serverUrl(name), { max: 1 });
    try {
      // CREATE TABLE … PARTITION OF would wait for the reader (ACCESS EXCLUSIVE on the parents) and fail here.
      await maker`set lock_timeout = '2s'`;
      const [made] = await maker<{ n: number }[]>`
        select pulse_ensure_partitions('2031-05-01T00:00Z', '2031-05-31T00:00Z') as n`;
      expect(made!.n).toBe(2);
    } finally {
      await reader`rollback`;
      reader.release();
      await maker.end();
    }
    // The attached month is a partition like the others: same indexes, and rows land in it.
    const indexes = await sql<{ table: string; n: number }[]>`
      select c.relname as table, count(*)::int as n from pg_index i join pg_class c on c.oid = i.indrelid
      where c.relname in ('forecasts_p2031_05', 'forecasts_p2020_01', 'scores_p2031_05', 'scores_p2020_01')
      group by 1 order by 1`;
    expect(indexes).toEqual([
      { table: 'forecasts_p2020_01', n: indexes[0]!.n },
      { table: 'forecasts_p2031_05', n: indexes[0]!.n },
      { table: 'scores_p2020_01', n: indexes[2]!.n },
      { table: 'scores_p2031_05', n: indexes[2]!.n },
    ]);
    expect(indexes[0]!.n).toBeGreaterThanOrEqual(2);
    const [series] = await sql<
      { id: number }[]
    >`insert into series (name) values ('attach-check') returning id`;
    await sql`
      insert into forecasts (series_id, model_version, last_input_hour, last_target_hour, method, quality, issued_at, value)
      values (${series!.id}, 'm', '2031-05-02T00:00Z', '2031-05-02T01:00Z', 'm', 'ok', '2031-05-02T01:00Z', '{1}')`;
    const [where] = await sql<{ partition: string }[]>`
      select tableoid::regclass::text as partition from forecasts where series_id = ${series!.id}`;
    expect(where!.partition).toBe('forecasts_p2031_05');
  });
});
