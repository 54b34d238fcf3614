import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR_MS } from '../../src/core/time.ts';
import { dashboardQueries, type DashboardQuery } from '../helpers/dashboard-queries.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { expandGrafanaSql, type GrafanaQueryContext } from '../helpers/grafana-macros.ts';

/**
 * The panels that read forecasts and scores over time must stay on an index when the tables are large:
 * a year of hourly data for 100 series, written directly in SQL (the forecasts' values do not matter to
 * the planner, only the shape and size of the tables). Three horizons (1, 12, 24) stand in for 24 to
 * keep the fill fast; one series is still 1 % of every table.
 */
const SERIES = 100;
const YEAR_START = Date.UTC(2024, 0, 1);
const YEAR_END = Date.UTC(2024, 11, 31, 23);
const HORIZONS = [1, 12, 24];
const MODEL = 'plan-model-v1';

/** Panels whose time series come from predictions or evaluations. */
const HOT_PANELS = [
  'forecast/panel: Actual vs 1-hour-ahead forecast B',
  'forecast/panel: Latest 24-hour-ahead forecast A',
  'forecast/panel: Daily skill vs persistence A',
  'forecast/panel: Rolling MAE A',
  'forecast/panel: Rolling RMSE A',
  'forecast/panel: Rolling MAPE A',
  'forecast/panel: Error by horizon A',
  'forecast/panel: Error by hour of day A',
  'forecast/variable: model',
  'operations/panel: Fallback rate A',
  'operations/variable: model',
];

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function scans(node: PlanNode): string[] {
  const on = node['Relation Name'] ? ` on ${node['Relation Name']}` : '';
  const using = node['Index Name'] ? ` using ${node['Index Name']}` : '';
  const own = on || using ? [`${node['Node Type']}${on}${using}`] : [];
  return [...own, ...(node.Plans ?? []).flatMap(scans)];
}

describe('dashboard query plans on a year of data for 100 series', () => {
  let db: TestDatabase;
  let oneSeries: string;
  const queries = new Map<string, DashboardQuery>();
  let emptyPartitions = new Set<string>();

  beforeAll(async () => {
    db = await createTestDatabase();
    const sql = db.sql;
    const from = new Date(YEAR_START);
    const to = new Date(YEAR_END);
    await sql.begin(async (tx) => {
      await tx`set local synchronous_commit = off`;
      // Bulk fill of generated rows: skip the per-row foreign-key triggers (the rows are consistent by construction).
      await tx`set local session_replication_role = replica`;
      await tx`select pulse_ensure_partitions(${new Date(YEAR_START - 24 * HOUR_MS)}, ${to})`;
      await tx`
        insert into series (name, country, timezone)
        select 'load-' || lpad(i::text, 3, '0'), 'TR', 'Europe/Istanbul' from generate_series(1, ${SERIES}) i`;
      await tx`
        insert into actuals (series_id, hour, value)
        select s.id, h, 1000 + 300 * sin(extract(epoch from h) / 13751) + s.id
        from series s, generate_series(${from}::timestamptz, ${to}::timestamptz, interval '1 hour') h`;
      // One row per origin (0070): horizons 1, 12 and 24 valued, every target of the year covered by each.
      await tx`
        insert into forecasts (series_id, model_version, last_input_hour, last_target_hour, method, quality, issued_at,
                               value, lower_bound, upper_bound)
        select s.id, ${MODEL}, o, o + interval '24 hours', 'model',
               case when (extract(epoch from o)::bigint / 3600 + s.id) % 53 = 0 then 'fallback' else 'ok' end,
               o + interval '1 hour', v.value, v.lower_bound, v.upper_bound
        from series s, generate_series(${from}::timestamptz - interval '24 hours', ${to}::timestamptz - interval '1 hour', interval '1 hour') o,
             lateral (
               select array_agg(case when k.on then 1010 + s.id end order by hz) as value,
                      array_agg(case when k.on then 950 end order by hz) as lower_bound,
                      array_agg(case when k.on then 1070 end order by hz) as upper_bound
               from generate_series(1, 24) hz,
                    lateral (select hz = any(${HORIZONS}::int[])
                                    and o + hz * interval '1 hour' between ${from}::timestamptz and ${to}::timestamptz as on) k
             ) v`;
      await tx`
        insert into scores (series_id, model_version, target_hour, actual, horizons, persistence_abs_error)
        select a.series_id, ${MODEL}, a.hour, a.value, ${HORIZONS}::smallint[],
               (select array_agg(15 * hz order by hz) from unnest(${HORIZONS}::int[]) hz)
        from actuals a`;
      // The error sums the scoring statement keeps (0040), from the same scores.
      await tx`
        insert into error_hours
        select series_id, model_version, target_hour, count(*), sum(abs_error), sum(squared_error), sum(error),
               coalesce(sum(pct_error), 0), count(pct_error), coalesce(sum(persistence_abs_error), 0),
               count(persistence_abs_error),
               coalesce(sum(abs_error) filter (where persistence_abs_error is not null), 0),
               count(*) filter (where covered), count(covered), count(*) filter (where quality = 'fallback')
        from evaluations group by 1, 2, 3`;
    });
    await sql`analyze`;
    const partitions = await sql<{ partition: string; rows: number }[]>`
      select p.partition, c.reltuples::float8 as rows
      from storage_partitions p join pg_class c on c.relname = p.partition`;
    emptyPartitions = new Set(partitions.filter((p) => p.rows <= 0).map((p) => p.partition));
    [{ id: oneSeries }] =
      (await sql`select id::text as id from series where name = 'load-042'`) as unknown as [{ id: string }];
    for (const name of ['forecast', 'operations']) {
      for (const q of dashboardQueries(name)) queries.set(`${name}/${q.key}`, q);
    }
  }, 240_000);
  afterAll(async () => db?.drop());

  async function plan(key: string, rangeHours: number): Promise<string[]> {
    const query = queries.get(key);
    if (!query) throw new Error(`no query ${key}`);
    const forecast = query.dashboard === 'forecast';
    const context: GrafanaQueryContext = {
      from: YEAR_END - rangeHours * HOUR_MS,
      to: YEAR_END,
      intervalMs: Math.max(query.minIntervalMs, HOUR_MS),
      variables: forecast
        ? { series: { value: oneSeries, multi: false }, model: { value: MODEL, multi: false } }
        : {
            series: {
              value: Array.from({ length: SERIES }, (_, i) => String(i + 1)),
              multi: true,
              includeAll: true,
            },
            model: { value: [MODEL], multi: true, includeAll: true },
          },
    };
    const [row] = (await db.sql.unsafe(
      `explain (format json) ${expandGrafanaSql(query.rawSql, context)}`,
    )) as unknown as [{ 'QUERY PLAN': [{ Plan: PlanNode }] }];
    return scans(row['QUERY PLAN'][0].Plan);
  }

  it('filled the tables to size', async () => {
    const [counts] = await db.sql<{ predictions: number; evaluations: number }[]>`
      select (select count(*) from predictions)::int as predictions, (select count(*) from evaluations)::int as evaluations`;
    const hours = (YEAR_END - YEAR_START) / HOUR_MS + 1;
    expect(counts).toEqual({
      predictions: SERIES * hours * HORIZONS.length,
      evaluations: SERIES * hours * HORIZONS.length,
    });
  });

  // Default range (7 days) and a whole year for one series; "All" series over 7 days on Operations.
  for (const key of HOT_PANELS) {
    for (const rangeHours of key.startsWith('operations') ? [168] : [168, 8760]) {
      it(`reads ${key} over ${rangeHours / 24} days without a sequential scan of forecasts, scores or their sums`, async () => {
        const used = await plan(key, rangeHours);
        expect(
          used.filter((s) => {
            const table = /^Seq Scan on ((forecasts|scores)(_p\d{4}_\d{2})?)$/.exec(s)?.[1];
            return table !== undefined && !emptyPartitions.has(table); // months made ahead, still empty
          }),
          used.join('\n'),
        ).toEqual([]);
        expect(
          used.filter((s) => /^Seq Scan on error_hours$/.test(s)),
          used.join('\n'),
        ).toEqual([]);
        expect(
          used.some((s) => / on (forecasts|scores|error_hours)/.test(s)),
          used.join('\n'),
        ).toBe(true);
      });
    }
  }
});
