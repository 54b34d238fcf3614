import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { naiveEvaluation } from '../../bench/naive.ts';
import { createPostgresStores, type PostgresStores } from '../../src/adapters/postgres/stores.ts';
import { loadReportData } from '../../src/adapters/report/index.ts';
import { skillScore, summarizeErrors } from '../../src/core/metrics.ts';
import type { OriginForecast } from '../../src/core/predictions.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { dashboardQueries } from '../helpers/dashboard-queries.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { expandGrafanaSql, type GrafanaQueryContext } from '../helpers/grafana-macros.ts';

/*
 * Four scored 1-hour-ahead forecasts, by hand (e = forecast − actual):
 *
 *   target  actual  forecast  interval    e   |e|  e²   |e|/y·100   persistence |e|   covered  quality
 *   T+1     110     120       [100, 130]  10  10   100  100/11      |110 − 100| = 10  yes      ok
 *   T+2      90      99       [95, 105]    9   9    81  10          |90 − 110| = 20   no       ok
 *   T+3       0       6       none         6   6    36  (y = 0)     |0 − 90| = 90     –        fallback
 *   T+5      50      46       none        −4   4    16  8           (no actual at T+4) –      ok
 *
 *   MAE  = 29 / 4 = 7.25                 RMSE = √(233 / 4) = √58.25     bias = 21 / 4 = 5.25
 *   MAPE = (100/11 + 10 + 8) / 3 = 298/33 % (the hour with y = 0 is left out)
 *   persistence MAE = 120 / 3 = 40
 *   skill = 1 − Σ|e| / Σ|e_persistence| over the three hours with both = 1 − 25 / 120 = 19/24
 *           (the old rollup formula, 1 − MAE / persistence MAE over different rows, gave 1 − 7.25/40)
 *   coverage = 1 of 2 forecasts with an interval = 50 %    fallback rate = 1 of 4 = 25 %
 */
const T = Date.UTC(2025, 0, 6, 0);
const at = (h: number) => T + h * HOUR_MS;
const EXPECTED = {
  n: 4,
  mae: 7.25,
  rmse: Math.sqrt(58.25),
  bias: 5.25,
  mape: 298 / 33,
  persistenceMae: 40,
  skill: 19 / 24,
  coverage: 50,
  fallbackRate: 25,
};
/** The tables of `pulse metrics` and the report do not show persistence MAE. */
const { persistenceMae: _persistenceMae, ...withoutPersistenceMae } = EXPECTED;
const MODEL = 'hand-v1';
const NOW = at(6) + 17 * 60_000;

describe('each metric is defined once, and every reader agrees on hand-computed rows', () => {
  let db: TestDatabase;
  let stores: PostgresStores;
  let seriesId: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    stores = createPostgresStores(db.sql);
    const [series] = await stores.series.ensureSeries([{ name: 'hand' }]);
    seriesId = series!.id;
    await stores.actuals.upsertActuals(
      seriesId,
      [
        { hour: at(0), value: 100 },
        { hour: at(1), value: 110 },
        { hour: at(2), value: 90 },
        { hour: at(3), value: 0 },
        { hour: at(5), value: 50 },
      ],
      at(6),
    );
    const forecast = (
      h: number,
      value: number,
      interval: [number, number] | null,
      quality: 'ok' | 'fallback' = 'ok',
    ): OriginForecast => ({
      seriesId,
      modelVersion: MODEL,
      lastInputHour: at(h - 1),
      method: quality === 'ok' ? MODEL : 'seasonal-naive-168h',
      issuedAt: at(h),
      quality,
      reason: quality === 'ok' ? null : 'stale',
      horizons: 1,
      values: [value],
      lower: interval ? [interval[0]] : null,
      upper: interval ? [interval[1]] : null,
    });
    await stores.forecasts.writeForecasts(
      [
        forecast(1, 120, [100, 130]),
        forecast(2, 99, [95, 105]),
        forecast(3, 6, null, 'fallback'),
        forecast(5, 46, null),
      ],
      null,
    );
    await stores.evaluations.scorePredictions({ since: at(0), until: at(6), now: NOW });
    await stores.evaluations.refreshRollups(NOW);
  });
  afterAll(async () => db.drop());

  it('the SQL functions of 0010 give the hand-computed figures from the summed terms', async () => {
    const [row] = await db.sql<Record<string, number>[]>`
      select count(*)::int as n, pulse_mae(sum(abs_error), count(*)) as mae,
             pulse_rmse(sum(squared_error), count(*)) as rmse, pulse_bias(sum(error), count(*)) as bias,
             pulse_mape(sum(pct_error), count(pct_error)) as mape,
             pulse_mae(sum(persistence_abs_error), count(persistence_abs_error)) as "persistenceMae",
             pulse_skill(sum(skill_abs_error), sum(persistence_abs_error)) as skill,
             pulse_share(sum(covered_n), sum(interval_n)) as coverage,
             pulse_share(sum(fallback_n), count(*)) as "fallbackRate"
      from evaluation_terms`;
    expectFigures(row!, EXPECTED);
  });

  // Only the all-horizons rows are stored (horizon 0, the rows every reader uses): they come from the error
  // sums of each hour (0040), which add up every horizon.
  it('the rollups store the same figures for the 24 h window, all horizons', async () => {
    const rows = await db.sql<Record<string, number>[]>`
      select horizon, n, mae, rmse, bias, mape, persistence_mae as "persistenceMae", skill, coverage,
             fallback_rate as "fallbackRate"
      from metric_rollups where window_name = '24h' order by horizon`;
    expect(rows.map((r) => r.horizon)).toEqual([0]);
    for (const row of rows) expectFigures(row, EXPECTED);
  });

  it('pulse metrics (the metrics report) agrees', async () => {
    const rows = await stores.metrics.byHorizon({ horizons: [1] });
    expect(rows.map((r) => r.horizon)).toEqual([0, 1]);
    for (const row of rows) {
      expectFigures(
        { ...row, fallbackRate: row.fallback_rate } as unknown as Record<string, number>,
        withoutPersistenceMae,
      );
    }
  });

  it('the HTML report agrees: period and stored metrics, error by horizon, rolling MAPE', async () => {
    const data = await loadReportData(db.sql, { series: 'hand', model: MODEL, from: at(0), to: at(5) });
    const percentSkill = { ...withoutPersistenceMae, skill: 100 * EXPECTED.skill };
    expect(data.periodMetrics.map((m) => m.label)).toEqual(['1 h ahead', 'all horizons']);
    for (const m of data.periodMetrics) expectFigures(m as unknown as Record<string, number>, percentSkill);
    expectFigures(data.rollingMetrics[0] as unknown as Record<string, number>, percentSkill);
    expect(data.byHorizon).toEqual({ horizon: [1], mae: [7.25], persistenceMae: [40] });
    expect(data.hourly.mape24h.at(-1)).toBeCloseTo(EXPECTED.mape, 12);
  });

  it('the Grafana panels agree', async () => {
    const context: GrafanaQueryContext = {
      from: at(0),
      to: at(6),
      intervalMs: HOUR_MS,
      variables: {
        series: { value: String(seriesId), multi: false },
        model: { value: MODEL, multi: false },
      },
    };
    const run = async (dashboard: string, key: string, overrides: Partial<GrafanaQueryContext> = {}) => {
      const query = dashboardQueries(dashboard).find((q) => q.key === key);
      if (!query) throw new Error(`no panel ${dashboard}/${key}`);
      return [
        ...(await db.sql.unsafe(expandGrafanaSql(query.rawSql, { ...context, ...overrides }))),
      ] as Record<string, unknown>[];
    };
    const newest = async (key: string) => Number((await run('forecast', key)).at(-1)!['24 h']);
    expect(await newest('panel: Rolling MAE A')).toBeCloseTo(EXPECTED.mae, 12);
    expect(await newest('panel: Rolling RMSE A')).toBeCloseTo(EXPECTED.rmse, 12);
    expect(await newest('panel: Rolling MAPE A')).toBeCloseTo(EXPECTED.mape, 12);
    const stat = async (key: string) => Number((await run('forecast', key))[0]!['24 h']);
    expect(await stat('panel: MAE (rolling) A')).toBeCloseTo(EXPECTED.mae, 12);
    expect(await stat('panel: MAPE (rolling) A')).toBeCloseTo(EXPECTED.mape, 12);
    expect(await stat('panel: Skill vs persistence A')).toBeCloseTo(100 * EXPECTED.skill, 12);
    const [daily] = await run('forecast', 'panel: Daily skill vs persistence A');
    expect(Number(daily!.skill)).toBeCloseTo(100 * EXPECTED.skill, 12);
    const byHorizon = await run('forecast', 'panel: Error by horizon A');
    expect(byHorizon.map((r) => [r.horizon, r.MAE, r['persistence MAE']])).toEqual([['1', 7.25, 40]]);
    const byHour = await run('forecast', 'panel: Error by hour of day A');
    expect(byHour.map((r) => [r['local hour'], r.MAE, r.bias])).toEqual([
      ['01', 10, 10],
      ['02', 9, 9],
      ['03', 6, 6],
      ['05', 4, -4],
    ]);
    const fallback = await run('operations', 'panel: Fallback rate A', {
      intervalMs: 24 * HOUR_MS,
      variables: {
        series: { value: [String(seriesId)], multi: true, includeAll: true },
        model: { value: [MODEL], multi: true, includeAll: true },
      },
    });
    expect(fallback.map((r) => Number(r.fallback))).toEqual([EXPECTED.fallbackRate]);
  });

  it("the bench's row-by-row scoring stores the same terms, so its rollups agree too", async () => {
    const terms = () => db.sql`
      select target_hour, error, abs_error, squared_error, pct_error, persistence_abs_error, covered, quality
      from evaluations order by target_hour`;
    const setBased = await terms();
    await db.sql`delete from scores`;
    await naiveEvaluation(db.sql, stores, { since: at(0), until: at(6), now: NOW, budgetMs: 60_000 });
    expect(await terms()).toEqual(setBased);
    const [rollup] = await db.sql<Record<string, number>[]>`
      select n, mae, rmse, bias, mape, persistence_mae as "persistenceMae", skill, coverage,
             fallback_rate as "fallbackRate"
      from metric_rollups where window_name = '24h' and horizon = 0`;
    expectFigures(rollup!, EXPECTED);
  });

  it("the core's in-memory metrics (back-tests without a database) agree on the same rows", () => {
    const summary = summarizeErrors([120, 99, 6, 46], [110, 90, 0, 50]);
    expect(summary.n).toBe(4);
    expect(summary.mae).toBe(EXPECTED.mae);
    expect(summary.rmse).toBeCloseTo(EXPECTED.rmse, 12);
    expect(summary.bias).toBe(EXPECTED.bias);
    expect(summary.mape).toBeCloseTo(EXPECTED.mape, 12);
    // Skill over the rows that have both errors: mean |e| 25/3 against mean |e_persistence| 120/3.
    expect(skillScore(25 / 3, 120 / 3)).toBeCloseTo(EXPECTED.skill, 12);
  });
});

function expectFigures(row: Record<string, number>, expected: Record<string, number>): void {
  for (const [name, value] of Object.entries(expected)) {
    expect(Number(row[name]), name).toBeCloseTo(value, 12);
  }
}
