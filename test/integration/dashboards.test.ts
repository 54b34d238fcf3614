import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pulseDashboards, renderDashboard } from '../../grafana/index.ts';
import { PULSE_DATASOURCE_UID } from '../../grafana/datasource.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import {
  dashboardQueries,
  DASHBOARD_FILES,
  readDashboard,
  type DashboardQuery,
} from '../helpers/dashboard-queries.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { expandGrafanaSql, type GrafanaQueryContext } from '../helpers/grafana-macros.ts';
import { seedPulse, type SeededPulse } from '../helpers/seed.ts';

type Row = Record<string, unknown>;

describe('dashboards as code', () => {
  it('generates the committed JSON byte for byte (run npm run dashboards after changing grafana/)', () => {
    const models = pulseDashboards();
    expect(Object.keys(models).sort()).toEqual([...DASHBOARD_FILES]);
    for (const [name, model] of Object.entries(models)) {
      const committed = readFileSync(
        fileURLToPath(new URL(`../../grafana/dashboards/${name}.json`, import.meta.url)),
        'utf8',
      );
      expect(renderDashboard(model), `grafana/dashboards/${name}.json is stale`).toBe(committed);
      expect(renderDashboard(pulseDashboards()[name]!)).toBe(committed);
    }
  });

  it('reads every panel, variable and annotation from the provisioned pulse-postgres data source', () => {
    for (const name of DASHBOARD_FILES) {
      const model = readDashboard(name);
      const uids = [
        ...model.panels.flatMap((p) => [p.datasource?.uid, ...p.targets.map((t) => t.datasource.uid)]),
        ...(model.annotations.list ?? []).map(() => PULSE_DATASOURCE_UID),
      ];
      expect(new Set(uids)).toEqual(new Set([PULSE_DATASOURCE_UID]));
      expect(model.panels.every((p) => p.targets.length > 0)).toBe(true);
    }
  });

  it('gives both dashboards a series and a model variable', () => {
    for (const name of DASHBOARD_FILES) {
      expect(readDashboard(name).templating.list.map((v) => v.name)).toEqual(['series', 'model']);
    }
  });
});

/** Columns each query must return; a panel without an entry here fails, so new panels get checked too. */
const EXPECTED_COLUMNS: Record<string, string[]> = {
  'forecast/variable: series': ['__text', '__value'],
  'forecast/variable: model': ['__text', '__value'],
  'forecast/annotation: Holidays': ['time', 'timeend', 'text', 'tags'],
  'forecast/panel: MAE (rolling) A': ['24 h', '7 d', '30 d'],
  'forecast/panel: RMSE (rolling) A': ['24 h', '7 d', '30 d'],
  'forecast/panel: MAPE (rolling) A': ['24 h', '7 d', '30 d'],
  'forecast/panel: Skill vs persistence A': ['24 h', '7 d', '30 d'],
  'forecast/panel: Actual vs 1-hour-ahead forecast A': ['time', 'actual'],
  'forecast/panel: Actual vs 1-hour-ahead forecast B': [
    'time',
    'forecast',
    'p10',
    'p90',
    'fallback forecast',
  ],
  'forecast/panel: Latest 24-hour-ahead forecast A': ['time', 'forecast', 'p10', 'p90', 'actual'],
  'forecast/panel: Daily skill vs persistence A': ['time', 'skill'],
  'forecast/panel: Rolling MAE A': ['time', '24 h', '7 d', '30 d'],
  'forecast/panel: Rolling RMSE A': ['time', '24 h', '7 d', '30 d'],
  'forecast/panel: Rolling MAPE A': ['time', '24 h', '7 d', '30 d'],
  'forecast/panel: Error by horizon A': ['horizon', 'MAE', 'persistence MAE'],
  'forecast/panel: Error by hour of day A': ['local hour', 'MAE', 'bias'],
  'operations/variable: series': ['__text', '__value'],
  'operations/variable: model': ['__text', '__value'],
  'operations/panel: Last run of each function A': [
    'function',
    'outcome',
    'started',
    'duration (s)',
    'series',
    'rows written',
    'fallbacks',
    'failed',
    'age (h)',
    'error',
  ],
  'operations/panel: Age of the newest actual A': ['series', 'newest actual', 'age (h)'],
  'operations/panel: Missing hours A': ['series', 'hours received', 'missing hours', 'first', 'last'],
  'operations/panel: Revisions received A': ['time', 'metric', 'revised'],
  'operations/panel: Fallback rate A': ['time', 'metric', 'fallback'],
  'operations/panel: Run duration A': ['time', 'metric', 'duration'],
  'operations/panel: Failed and partial runs A': [
    'started',
    'function',
    'trigger',
    'outcome',
    'failed series',
    'error',
  ],
  'operations/annotation: Model promotions': ['time', 'text', 'tags'],
  'operations/panel: Weather forecasts A': [
    'series',
    'weather locations',
    'newest weather forecast',
    'age (h)',
    'forecasts without weather',
    'last reason',
  ],
  'operations/panel: Models: champion of each series A': [
    'series',
    'champion',
    'since',
    'trained to',
    'back-test 1 h MAE',
    'last decision',
    'outcome',
    'reason',
  ],
};

describe('dashboard SQL on a seeded database', () => {
  let db: TestDatabase;
  let seed: SeededPulse;
  const results = new Map<string, Row[]>();
  const id = (name: string) => String(seed.series.find((s) => s.name === name)!.id);

  /** The Forecast dashboard looks at the gappy series; Operations at all series, as "All" sends them. */
  function contextFor(
    query: DashboardQuery,
    overrides: Partial<GrafanaQueryContext> = {},
  ): GrafanaQueryContext {
    const forecast = query.dashboard === 'forecast';
    return {
      from: seed.backfillFrom,
      // Runs are stamped with the wall clock, so Operations looks up to now, as its default range does.
      to: forecast ? seed.lastHour + 24 * HOUR_MS : Date.now() + HOUR_MS,
      intervalMs: Math.max(HOUR_MS, query.minIntervalMs),
      variables: forecast
        ? { series: { value: id('south'), multi: false }, model: { value: seed.modelVersion, multi: false } }
        : {
            series: { value: seed.series.map((s) => String(s.id)), multi: true, includeAll: true },
            model: { value: [seed.modelVersion], multi: true, includeAll: true },
          },
      ...overrides,
    };
  }

  const run = async (query: DashboardQuery, overrides?: Partial<GrafanaQueryContext>) =>
    [...(await db.sql.unsafe(expandGrafanaSql(query.rawSql, contextFor(query, overrides))))] as Row[];
  const rows = (key: string) => {
    const found = results.get(key);
    if (!found) throw new Error(`no result for ${key}`);
    return found;
  };
  const num = (v: unknown) => Number(v);

  beforeAll(async () => {
    db = await createTestDatabase();
    seed = await seedPulse(db.sql);
    for (const name of DASHBOARD_FILES) {
      for (const query of dashboardQueries(name)) results.set(`${name}/${query.key}`, await run(query));
    }
  });
  afterAll(async () => db?.drop());

  it('runs every query and returns rows with the expected columns', () => {
    const keys = DASHBOARD_FILES.flatMap((name) =>
      dashboardQueries(name).map((q) => `${q.dashboard}/${q.key}`),
    );
    expect(keys.sort()).toEqual(Object.keys(EXPECTED_COLUMNS).sort());
    for (const key of keys) {
      const result = rows(key);
      expect(result.length, key).toBeGreaterThan(0);
      expect(Object.keys(result[0]!), key).toEqual(EXPECTED_COLUMNS[key]);
    }
  });

  it('lists the series by name with their ids as values, and the model that made forecasts', () => {
    expect(rows('forecast/variable: series')).toEqual(
      seed.series.map((s) => ({ __text: s.name, __value: String(s.id) })),
    );
    // Versions with forecasts first, then the registered ones without (a champion promoted after the runs).
    expect(rows('forecast/variable: model')).toEqual([
      { __text: seed.modelVersion, __value: seed.modelVersion },
      { __text: seed.championVersion, __value: seed.championVersion },
    ]);
  });

  it('quotes multi-value selections: two selected series give exactly those two rows', async () => {
    const query = dashboardQueries('operations').find((q) => q.key === 'panel: Age of the newest actual A')!;
    const two = await run(query, {
      variables: {
        series: { value: [id('east'), id('south')], multi: true, includeAll: true },
        model: { value: [seed.modelVersion], multi: true, includeAll: true },
      },
    });
    expect(two.map((r) => r.series).sort()).toEqual(['east', 'south']);
  });

  it('shows each series its champion or the default model, and marks the promotion', () => {
    const champions = rows('operations/panel: Models: champion of each series A');
    expect(champions.map((r) => [r.series, r.champion, r.outcome])).toEqual([
      ['east', seed.championVersion, 'promoted'],
      ['north', '(default model)', null],
      ['south', '(default model)', null],
    ]);
    expect(num(champions[0]!['back-test 1 h MAE'])).toBe(101.5);
    const promotions = rows('operations/annotation: Model promotions');
    expect(promotions).toHaveLength(1);
    expect(promotions[0]!.text).toBe(
      `east: ${seed.championVersion} replaces the default model (first model of the series)`,
    );
  });

  it('marks the holidays of the series country in the range (Ramazan Bayramı 2025)', () => {
    const holidays = rows('forecast/annotation: Holidays');
    expect(holidays.map((h) => h.text)).toEqual([
      'Ramazan Bayramı arifesi',
      'Ramazan Bayramı 1. gün',
      'Ramazan Bayramı 2. gün',
      'Ramazan Bayramı 3. gün',
    ]);
    expect(holidays.map((h) => h.tags)).toEqual(['half-day', 'holiday', 'holiday', 'holiday']);
    // Local midnight in Istanbul (UTC+3) is 21:00 UTC.
    expect((holidays[1]!.time as Date).toISOString()).toBe('2025-03-29T21:00:00.000Z');
  });

  it('shows the actuals and one 1-hour-ahead forecast per hour, with the fallbacks the gap caused', async () => {
    const actual = rows('forecast/panel: Actual vs 1-hour-ahead forecast A');
    expect(actual).toHaveLength((seed.lastHour - seed.backfillFrom) / HOUR_MS + 1 - seed.gapHours.length);
    const forecast = rows('forecast/panel: Actual vs 1-hour-ahead forecast B');
    // Backfilled hours plus the live run's first hour.
    expect(forecast).toHaveLength((seed.lastHour - seed.backfillFrom) / HOUR_MS + 2);
    const [counted] = await db.sql<{ fallbacks: number }[]>`
      select count(*)::int as fallbacks from predictions
      where series_id = ${Number(id('south'))} and horizon = 1 and quality = 'fallback'`;
    expect(counted!.fallbacks).toBeGreaterThan(0);
    expect(forecast.filter((r) => r['fallback forecast'] !== null)).toHaveLength(counted!.fallbacks);
    // Same scale as the actuals: typically a few percent off, never off by a factor (holidays are the worst).
    const byHour = new Map(actual.map((r) => [(r.time as Date).getTime(), r.actual as number]));
    const relative = forecast
      .filter((r) => byHour.has((r.time as Date).getTime()) && r.forecast !== null)
      .map((r) => Math.abs((r.forecast as number) / byHour.get((r.time as Date).getTime())! - 1))
      .sort((a, b) => a - b);
    expect(relative[Math.floor(relative.length / 2)]).toBeLessThan(0.1);
    expect(relative.at(-1)).toBeLessThan(1);
  });

  it('shows the 24 hours of the newest forecast run', () => {
    const latest = rows('forecast/panel: Latest 24-hour-ahead forecast A');
    expect(latest.map((r) => (r.time as Date).getTime())).toEqual(
      Array.from({ length: 24 }, (_, i) => seed.lastHour + (i + 1) * HOUR_MS),
    );
    expect(latest.every((r) => typeof r.forecast === 'number' && r.forecast > 0)).toBe(true);
  });

  it('shows the stored rolling metrics, with MAPE between 0 and 50 %', async () => {
    const [stored] = await db.sql<{ mae: number; rmse: number; mape: number }[]>`
      select mae, rmse, mape from metric_rollups
      where series_id = ${Number(id('south'))} and horizon = 0 and window_name = '7d'`;
    expect(rows('forecast/panel: MAE (rolling) A')[0]!['7 d']).toBeCloseTo(stored!.mae, 9);
    expect(rows('forecast/panel: RMSE (rolling) A')[0]!['7 d']).toBeCloseTo(stored!.rmse, 9);
    const mape = rows('forecast/panel: MAPE (rolling) A')[0]!;
    for (const w of ['24 h', '7 d', '30 d']) {
      expect(mape[w]).toBeGreaterThan(0);
      expect(mape[w]).toBeLessThan(50);
    }
    const skill = rows('forecast/panel: Skill vs persistence A')[0]!;
    for (const w of ['24 h', '7 d', '30 d']) expect(skill[w]).toBeLessThan(100);
  });

  it('ends each rolling-error line at the value of the stored rollup for the same window', async () => {
    const stored = await db.sql<{ window_name: string; mae: number; rmse: number; mape: number }[]>`
      select window_name, mae, rmse, mape from metric_rollups
      where series_id = ${Number(id('south'))} and horizon = 0`;
    const label = { '24h': '24 h', '7d': '7 d', '30d': '30 d' } as Record<string, string>;
    for (const metric of ['mae', 'rmse', 'mape'] as const) {
      const series = rows(`forecast/panel: Rolling ${metric.toUpperCase()} A`);
      const last = series.find((r) => num(r.time) * 1000 === seed.lastHour)!;
      expect(last, metric).toBeDefined();
      for (const r of stored)
        expect(last[label[r.window_name]!], `${metric} ${r.window_name}`).toBeCloseTo(r[metric], 6);
      expect(series.every((r) => num(r.time) * 1000 >= seed.backfillFrom)).toBe(true);
    }
  });

  it('groups the error by horizon 1…24 and by local hour 00…23', () => {
    const byHorizon = rows('forecast/panel: Error by horizon A');
    expect(byHorizon.map((r) => r.horizon)).toEqual(Array.from({ length: 24 }, (_, i) => String(i + 1)));
    expect(byHorizon.every((r) => (r.MAE as number) > 0 && (r['persistence MAE'] as number) > 0)).toBe(true);
    const byHour = rows('forecast/panel: Error by hour of day A');
    expect(byHour.map((r) => r['local hour'])).toEqual(
      Array.from({ length: 24 }, (_, i) => String(i).padStart(2, '0')),
    );
    const daily = rows('forecast/panel: Daily skill vs persistence A');
    expect(daily).toHaveLength((seed.lastHour + HOUR_MS - seed.backfillFrom) / (24 * HOUR_MS));
    expect(daily.every((r) => (r.skill as number) < 100)).toBe(true);
  });

  it('shows the last run of each function in pipeline order, with the failed ingest and its error', () => {
    const last = rows('operations/panel: Last run of each function A');
    expect(last.map((r) => [r.function, r.outcome])).toEqual([
      ['weather', 'never ran'],
      ['ingest', 'failed'],
      ['forecast', 'success'],
      ['evaluate', 'success'],
      ['backfill', 'success'],
    ]);
    expect(last[1]!.error).toBe(seed.failedRunError);
    expect(last.every((r) => num(r['duration (s)']) >= 0 && num(r['age (h)']) >= 0)).toBe(true);
    const failed = rows('operations/panel: Failed and partial runs A');
    expect(failed.map((r) => [r.function, r.error])).toEqual([['ingest', seed.failedRunError]]);
    const durations = rows('operations/panel: Run duration A');
    expect(new Set(durations.map((r) => r.metric))).toEqual(
      new Set(['ingest', 'forecast', 'evaluate', 'backfill']),
    );
  });

  it('shows the newest actual, the missing hours and the revisions per series as inserted', () => {
    const age = rows('operations/panel: Age of the newest actual A');
    expect(age).toHaveLength(3);
    expect(age.every((r) => (r['newest actual'] as Date).getTime() === seed.lastHour)).toBe(true);
    const missing = Object.fromEntries(
      rows('operations/panel: Missing hours A').map((r) => [r.series, num(r['missing hours'])]),
    );
    expect(missing).toEqual({ east: 0, north: 0, south: seed.gapHours.length });
    const revisions = rows('operations/panel: Revisions received A');
    expect(revisions.map((r) => [num(r.time) * 1000, r.metric, r.revised])).toEqual([
      [Math.floor(seed.revisionReceivedAt / HOUR_MS) * HOUR_MS, seed.revisedSeries, seed.revisedHours.length],
    ]);
  });

  it('shows a daily fallback rate between 0 and 100 % that is above 0 only for the gappy series', () => {
    const rates = rows('operations/panel: Fallback rate A');
    expect(rates.every((r) => num(r.fallback) >= 0 && num(r.fallback) <= 100)).toBe(true);
    const withFallbacks = new Set(rates.filter((r) => num(r.fallback) > 0).map((r) => r.metric));
    expect(withFallbacks).toEqual(new Set([`${seed.gapSeries} · ${seed.modelVersion}`]));
    const days = new Set(rates.map((r) => num(r.time)));
    expect(rates).toHaveLength(days.size * 3);
  });
});
