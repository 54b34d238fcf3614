import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStores, type PostgresStores } from '../../src/adapters/postgres/stores.ts';
import type { OriginForecast } from '../../src/core/predictions.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { runEvaluation } from '../../src/core/use-cases/run-evaluation.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { expectSameSums } from '../helpers/sums.ts';

const T0 = Date.UTC(2025, 2, 30, 12); // crosses a UTC day and a month (and a partition) within 3 days
const SERIES = ['east', 'west'] as const;

type Op =
  | { kind: 'import'; series: number; hours: number; values: number[] }
  | { kind: 'revise'; series: number; back: number; value: number }
  | {
      kind: 'forecast';
      series: number;
      model: string;
      quality: 'ok' | 'fallback' | 'missed';
      band: boolean;
      values: number[];
    }
  | { kind: 'backfill'; series: number; back: number; model: string; values: number[] }
  | { kind: 'evaluate' };

const value = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0) },
  {
    weight: 12,
    arbitrary: fc.double({ min: 1, max: 5000, noNaN: true }).map((v) => Math.round(v * 100) / 100),
  },
);
const series = fc.integer({ min: 0, max: SERIES.length - 1 });
const model = fc.constantFrom('m1', 'm2');
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('import' as const),
      series,
      hours: fc.integer({ min: 1, max: 30 }),
      values: fc.array(value, { minLength: 30, maxLength: 30 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('revise' as const),
      series,
      back: fc.integer({ min: 0, max: 40 }),
      value,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('forecast' as const),
      series,
      model,
      quality: fc.constantFrom('ok' as const, 'ok' as const, 'fallback' as const, 'missed' as const),
      band: fc.boolean(),
      // Up to 30 horizons: the scoring reads the last 24 actuals before a target in one pass and finds an
      // older origin's actual by a probe of its own.
      values: fc.array(value, { minLength: 24, maxLength: 30 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('backfill' as const),
      series,
      back: fc.integer({ min: 1, max: 30 }),
      model,
      values: fc.array(value, { minLength: 24, maxLength: 24 }),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'evaluate' as const }) },
);

describe('incremental evaluation', () => {
  let db: TestDatabase;
  let stores: PostgresStores;
  let ids: number[];

  beforeAll(async () => {
    db = await createTestDatabase();
    stores = createPostgresStores(db.sql);
    ids = (await stores.series.ensureSeries(SERIES.map((name) => ({ name })))).map((s) => s.id);
  });
  afterAll(async () => db?.drop());

  /** What the hourly evaluation stores, recomputed from the raw rows, compared with what it did store. */
  async function expectSameAsFromScratch(until: number, now: number) {
    const sql = db.sql;
    // Scores: every matured forecast against today's actuals.
    const scratch = await sql<Record<string, unknown>[]>`
      select p.series_id, p.model_version, p.horizon, extract(epoch from p.target_hour)::float8 as t,
             p.value - a.value as error, abs(a.value - pa.value) as persistence_abs_error,
             case when p.lower_bound is null or p.upper_bound is null then null
                  else a.value between p.lower_bound and p.upper_bound end as covered
      from predictions p
      join actuals a on a.series_id = p.series_id and a.hour = p.target_hour
      left join actuals pa on pa.series_id = p.series_id and pa.hour = p.last_input_hour
      where p.value is not null and p.target_hour <= ${new Date(until)}
      order by 1, 2, 3, 4`;
    const stored = await sql<Record<string, unknown>[]>`
      select series_id, model_version, horizon, extract(epoch from target_hour)::float8 as t, error,
             persistence_abs_error, covered
      from evaluations order by 1, 2, 3, 4`;
    expect(stored).toEqual(scratch);

    // Error sums per hour and per UTC day.
    for (const per of ['hour', 'day'] as const) {
      const bucket = per === 'hour' ? sql`target_hour` : sql`date_trunc('day', target_hour, 'UTC')`;
      const table = per === 'hour' ? sql`error_hours` : sql`error_days`;
      const column = per === 'hour' ? sql`hour` : sql`day`;
      const fromScratch = await sql<Record<string, unknown>[]>`
        select series_id, model_version, extract(epoch from ${bucket})::float8 as at, count(*)::int as n,
               sum(abs_error) as abs_error_sum, sum(squared_error) as squared_error_sum, sum(error) as error_sum,
               coalesce(sum(pct_error), 0) as pct_error_sum, count(pct_error)::int as pct_error_n,
               coalesce(sum(persistence_abs_error), 0) as persistence_abs_error_sum,
               count(persistence_abs_error)::int as persistence_n,
               coalesce(sum(abs_error) filter (where persistence_abs_error is not null), 0) as skill_abs_error_sum,
               count(*) filter (where covered)::int as covered_n, count(covered)::int as interval_n,
               count(*) filter (where quality = 'fallback')::int as fallback_n
        from evaluations group by 1, 2, 3 order by 1, 2, 3`;
      const sums = await sql<Record<string, unknown>[]>`
        select series_id, model_version, extract(epoch from ${column})::float8 as at, n, abs_error_sum,
               squared_error_sum, error_sum, pct_error_sum, pct_error_n, persistence_abs_error_sum, persistence_n,
               skill_abs_error_sum, covered_n, interval_n, fallback_n
        from ${table} where n > 0 order by 1, 2, 3`;
      expectSameSums(sums, fromScratch);
    }

    // The rolling windows exactly as the full refresh computed them from the raw evaluations.
    const windowEnd = new Date(Math.floor(now / HOUR_MS) * HOUR_MS);
    // The full refresh before the error sums (0010's evaluation-store.ts): every raw score of the windows.
    const full = await sql<Record<string, unknown>[]>`
      with sums as (
        select e.series_id, e.model_version, w.window_name, count(*)::float8 as n, sum(e.abs_error) as abs_sum,
               sum(e.squared_error) as sq_sum, sum(e.pct_error) as pct_sum, count(e.pct_error)::float8 as pct_n,
               sum(e.error) as err_sum, sum(e.persistence_abs_error) as pers_sum,
               count(e.persistence_abs_error)::float8 as pers_n, sum(e.skill_abs_error) as skill_abs_sum,
               sum(e.covered_n)::float8 as covered_n, sum(e.interval_n)::float8 as interval_n,
               sum(e.fallback_n)::float8 as fallback_n
        from evaluation_terms e
        cross join lateral (values ('24h', 24), ('7d', 168), ('30d', 720)) as w (window_name, hours)
        where e.target_hour > ${windowEnd}::timestamptz - w.hours * interval '1 hour'
          and e.target_hour <= ${windowEnd}::timestamptz
        group by 1, 2, 3
      )
      select series_id, model_version, window_name, n::int as n, pulse_mae(abs_sum, n) as mae,
             pulse_rmse(sq_sum, n) as rmse, pulse_mape(pct_sum, pct_n) as mape, pulse_bias(err_sum, n) as bias,
             pulse_mae(pers_sum, pers_n) as persistence_mae, pulse_skill(skill_abs_sum, pers_sum) as skill,
             pulse_share(covered_n, interval_n) as coverage, pulse_share(fallback_n, n) as fallback_rate
      from sums order by 1, 2, 3`;
    const rollups = await sql<Record<string, unknown>[]>`
      select series_id, model_version, window_name, n, mae, rmse, mape, bias, persistence_mae, skill, coverage,
             fallback_rate
      from metric_rollups where horizon = 0 order by 1, 2, 3`;
    expectSameSums(rollups, full);
  }

  it('keeps every score, error sum and rolling window equal to a from-scratch computation', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), async (ops) => {
        await db.sql`truncate actuals, forecasts, scores, error_hours, error_days, rolling_sums, rolling_window, error_sum_changes, metric_rollups, runs`;
        // 48 hours of history for each series first, so persistence references exist.
        const newest = ids.map(() => T0 + 47 * HOUR_MS);
        for (const id of ids) {
          const rows = Array.from({ length: 48 }, (_, i) => ({ hour: T0 + i * HOUR_MS, value: 1000 + i }));
          await stores.actuals.upsertActuals(id, rows, T0);
        }
        let evaluated = false;
        for (const o of ops) {
          const id = o.kind === 'evaluate' ? 0 : ids[o.series]!;
          if (o.kind === 'import') {
            const start = newest[o.series]! + HOUR_MS;
            const rows = o.values.slice(0, o.hours).map((v, i) => ({ hour: start + i * HOUR_MS, value: v }));
            await stores.actuals.upsertActuals(id, rows, start);
            newest[o.series] = start + (o.hours - 1) * HOUR_MS;
          } else if (o.kind === 'revise') {
            const hour = newest[o.series]! - o.back * HOUR_MS;
            await stores.actuals.upsertActuals(id, [{ hour, value: o.value }], hour);
          } else if (o.kind === 'forecast' || o.kind === 'backfill') {
            const origin = newest[o.series]! - (o.kind === 'backfill' ? o.back * HOUR_MS : 0);
            const quality = o.kind === 'backfill' ? 'ok' : o.quality;
            const band = o.kind === 'backfill' || o.band;
            const forecast: OriginForecast = {
              seriesId: id,
              modelVersion: o.model,
              lastInputHour: origin,
              method: quality === 'fallback' ? 'seasonal-naive-168h' : o.model,
              issuedAt: origin + HOUR_MS,
              quality,
              reason: quality === 'ok' ? null : 'test',
              horizons: o.values.length,
              values: quality === 'missed' ? null : o.values,
              lower: quality === 'ok' && band ? o.values.map((v) => v * 0.97) : null,
              upper: quality === 'ok' && band ? o.values.map((v) => v * 1.03 + 1) : null,
            };
            await stores.forecasts.writeForecasts([forecast], null);
            if (o.kind === 'backfill') {
              // A backfill is scored by an evaluation over its period (as `pulse backfill` then `evaluate --since`).
              const now = Math.max(...newest) + HOUR_MS + 17 * 60_000;
              await runEvaluation(stores, { now, trigger: 'test', since: origin });
            }
          } else {
            const now = Math.max(...newest) + HOUR_MS + 17 * 60_000;
            await runEvaluation(stores, { now, trigger: 'test' });
            await expectSameAsFromScratch(Math.floor(now / HOUR_MS) * HOUR_MS, now);
            evaluated = true;
          }
        }
        if (!evaluated) {
          const now = Math.max(...newest) + HOUR_MS + 17 * 60_000;
          await runEvaluation(stores, { now, trigger: 'test' });
          await expectSameAsFromScratch(Math.floor(now / HOUR_MS) * HOUR_MS, now);
        }
      }),
      // 25 runs take about 10 s. A failure is shrunk for at most the rest of 150 s and then reported with the
      // smallest case found so far, instead of shrinking into the test's timeout with no case at all.
      { numRuns: 25, plugins: [fc.interruptAfterTimeLimit(150_000, { failOnInterrupt: true })] },
    );
  }, 300_000);
});
