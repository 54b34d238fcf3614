import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import { importActuals } from '../../src/cli/commands/import.ts';
import { HOUR_MS, toIso } from '../../src/core/time.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { startFakeHttpServer, type FakeHttpServer } from '../helpers/fake-http-server.ts';
import {
  caught,
  expectNothingLost,
  expectUnchanged,
  hour,
  loadHandlers,
  runsOf,
  seedSeries,
  snapshotStore,
  type Handlers,
  AS_OF,
  HISTORY,
} from '../helpers/faults.ts';

const LAST = hour(HISTORY - 1);

interface StoredPrediction {
  horizon: number;
  target_hour: Date;
  last_input_hour: Date;
  issued_at: Date;
  method: string;
  value: number | null;
  quality: string;
  reason: string | null;
}

describe('data faults, through the real forecast, evaluate and ingest handlers', () => {
  let db: TestDatabase;
  let handlers: Handlers;
  let source: FakeHttpServer;
  let csvDir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    source = await startFakeHttpServer();
    csvDir = await mkdtemp(join(tmpdir(), 'pulse-faults-'));
    handlers = loadHandlers({
      DATABASE_URL: db.url,
      INGEST_SOURCE: 'http',
      INGEST_HTTP_URL: `${source.baseUrl}/load`,
      INGEST_HTTP_FORMAT: 'json',
      INGEST_HTTP_TIME_FIELD: 'hour',
      INGEST_HTTP_VALUE_FIELD: 'mwh',
      INGEST_SERIES: 'ingested',
      INGEST_TRAILING_HOURS: '48',
    });
  });
  afterAll(async () => {
    await handlers.resetDatabase();
    await source.close();
    await rm(csvDir, { recursive: true, force: true });
    await db.drop();
  });

  const forecast = (series: string, at = AS_OF) =>
    handlers.forecast({ mode: 'forecast', at: toIso(at), series: [series] }) as Promise<{
      forecastsWritten: number;
      okSeries: number;
      fallbackSeries: number;
      skippedOrigins: number;
      failures: unknown[];
    }>;

  async function predictionsOf(series: string): Promise<StoredPrediction[]> {
    return db.sql<StoredPrediction[]>`
      select p.horizon, p.target_hour, p.last_input_hour, p.issued_at, p.method, p.value, p.quality, p.reason
      from predictions p join series s on s.id = p.series_id
      where s.name = ${series} order by p.last_input_hour, p.horizon`;
  }

  async function actualAt(series: string, at: number): Promise<number | undefined> {
    const [row] = await db.sql<{ value: number }[]>`
      select a.value from actuals a join series s on s.id = a.series_id
      where s.name = ${series} and a.hour = ${new Date(at)}`;
    return row?.value;
  }

  /** Seeds a series, applies `fault` to its actuals, runs the forecast handler; checks nothing was lost. */
  async function forecastWithFault(
    name: string,
    mutate: (rows: { hour: number; value: number }[]) => typeof rows,
  ) {
    await seedSeries(db.sql, { name }, HISTORY, { mutate });
    const before = await snapshotStore(db.sql);
    const summary = await forecast(name);
    expectNothingLost(before, await snapshotStore(db.sql));
    return { summary, rows: await predictionsOf(name) };
  }

  const without = (from: number, hours: number) => (rows: { hour: number; value: number }[]) =>
    rows.filter((r) => r.hour < hour(from) || r.hour >= hour(from + hours));

  it.each([
    { gap: 1, at: HISTORY - 11 },
    { gap: 5, at: HISTORY - 15 },
    { gap: 48, at: HISTORY - 60 },
  ])(
    'a gap of $gap h in the window → a flagged seasonal-naive forecast from last week',
    async ({ gap, at }) => {
      const name = `gap-${gap}h`;
      const { summary, rows } = await forecastWithFault(name, without(at, gap));
      expect(summary.fallbackSeries).toBe(1);
      expect(rows).toHaveLength(24);
      expect(rows.every((r) => r.quality === 'fallback' && r.method === 'seasonal-naive-168h')).toBe(true);
      expect(rows[0]!.reason).toBe(`missing-hours: ${gap} of 168 window hours missing`);
      // Each target repeats the same hour one week earlier.
      for (const r of [rows[0]!, rows[23]!])
        expect(r.value).toBe(await actualAt(name, r.target_hour.getTime() - 168 * HOUR_MS));
    },
  );

  it('a flat line (a stuck meter) → flagged fallback, never the model', async () => {
    let stuck = 0;
    const { summary, rows } = await forecastWithFault('flat', (all) =>
      all.map((r, i) => {
        if (i === HISTORY - 9) stuck = r.value;
        return i >= HISTORY - 9 ? { ...r, value: stuck } : r;
      }),
    );
    expect(summary.fallbackSeries).toBe(1);
    expect(rows[0]!.reason).toBe(`flat-line: the newest 9 values are all ${Math.round(stuck * 10) / 10}`);
    expect(rows.every((r) => r.quality === 'fallback')).toBe(true);
  });

  it('a ×10 spike → flagged fallback that never repeats the spike', async () => {
    // The spike sits exactly one week before the first target, where seasonal naive would copy it.
    const spikeAt = HISTORY - 168;
    const { summary, rows } = await forecastWithFault('spike', (all) =>
      all.map((r, i) => (i === spikeAt ? { ...r, value: r.value * 10 } : r)),
    );
    expect(summary.fallbackSeries).toBe(1);
    expect(rows[0]!.reason).toMatch(
      /^implausible-value: value \d+(\.\d)? 167 h before the origin is outside/,
    );
    expect(rows[0]!.method).toBe('seasonal-naive-24h');
    const spike = (await actualAt('spike', hour(spikeAt)))!;
    expect(Math.max(...rows.map((r) => r.value!))).toBeLessThan(spike / 3);
    expect(rows[0]!.value).toBe(await actualAt('spike', hour(HISTORY - 24)));
  });

  it.each([
    { hours: 30, reason: 'missing-hours: 138 of 168 window hours missing', method: 'seasonal-naive-24h' },
    { hours: 10, reason: 'missing-hours: 158 of 168 window hours missing', method: 'persistence' },
    { hours: 1, reason: 'missing-hours: 167 of 168 window hours missing', method: 'persistence' },
  ])(
    'less history ($hours h) than the model window → $method, flagged',
    async ({ hours, reason, method }) => {
      const name = `short-${hours}h`;
      await seedSeries(db.sql, { name }, hours);
      const before = await snapshotStore(db.sql);
      const summary = await forecast(name, hour(hours) + 7 * 60_000);
      expectNothingLost(before, await snapshotStore(db.sql));
      expect(summary.fallbackSeries).toBe(1);
      const rows = await predictionsOf(name);
      expect(rows).toHaveLength(24);
      expect(rows.every((r) => r.method === method && r.reason === reason && r.value !== null)).toBe(true);
      expect(rows[0]!.target_hour.getTime()).toBe(hour(hours));
    },
  );

  describe('actuals arriving late', () => {
    it.each([1, 5, 6, 24, 72])(
      'newest actual %i h late: true horizons, stale fallback beyond 6 h, scored once the hours arrive',
      async (late) => {
        const name = `late-${late}h`;
        const { series } = await seedSeries(db.sql, { name }, HISTORY - late);
        const before = await snapshotStore(db.sql);
        const summary = await forecast(name);
        expect(summary.failures).toEqual([]);
        const rows = await predictionsOf(name);
        expect(rows).toHaveLength(24);
        // The window ends at the newest actual; the horizon counts from there, not from the run.
        expect(rows.every((r) => r.last_input_hour.getTime() === hour(HISTORY - late - 1))).toBe(true);
        const stale = late + 7 / 60 > 6;
        expect(rows.every((r) => r.quality === (stale ? 'fallback' : 'ok'))).toBe(true);
        if (stale)
          expect(rows[0]!.reason).toMatch(/^stale: newest actual ended \d+\.\d h ago \(limit 6 h\)$/);
        else expect(rows.find((r) => r.target_hour.getTime() === hour(HISTORY))!.horizon).toBe(late + 1);

        // The late hours (and the next one) arrive; the next hourly run and the evaluation catch up.
        const arrived = (await import('../../src/core/synthetic.ts'))
          .generateSyntheticSeries({ from: hour(0), to: hour(HISTORY), level: 30_000, seed: 7 })
          .slice(HISTORY - late);
        await createPostgresStores(db.sql).actuals.upsertActuals(series.id, arrived, hour(HISTORY + 1));
        const next = await forecast(name, hour(HISTORY + 1) + 7 * 60_000);
        expect(next.okSeries).toBe(1);
        expect(next.skippedOrigins).toBe(late);
        await handlers.evaluate({ mode: 'evaluate', at: toIso(hour(HISTORY + 1) + 17 * 60_000) });
        const [scored] = await db.sql<{ n: number }[]>`
          select count(*)::int as n from evaluations where series_id = ${series.id}`;
        // Every stored forecast whose target hour now has an actual was scored.
        expect(scored!.n).toBe(rows.filter((r) => r.target_hour.getTime() <= hour(HISTORY)).length);
        // No forecast of a forecast run used an actual that was received after the forecast was issued.
        const [leaks] = await db.sql<{ n: number }[]>`
          select count(*)::int as n from predictions p join runs r on r.id = p.run_id
          where p.series_id = ${series.id} and r.function_name = 'forecast' and p.quality <> 'missed'
            and exists (select 1 from actuals a where a.series_id = p.series_id
                        and a.hour <= p.last_input_hour and a.first_received_at > p.issued_at)`;
        expect(leaks!.n).toBe(0);
        expectNothingLost(before, await snapshotStore(db.sql));
      },
    );
  });

  it('catch-up: nothing is marked for a new series; after a long outage at most one week of origins is', async () => {
    const name = 'outage';
    const { series } = await seedSeries(db.sql, { name }, HISTORY - 200);
    const first = await forecast(name, hour(HISTORY - 200) + 7 * 60_000);
    expect(first.skippedOrigins).toBe(0);
    await createPostgresStores(db.sql).actuals.upsertActuals(
      series.id,
      (await import('../../src/core/synthetic.ts'))
        .generateSyntheticSeries({ from: hour(0), to: hour(HISTORY - 1), level: 30_000, seed: 7 })
        .slice(HISTORY - 200),
      hour(HISTORY),
    );
    const before = await snapshotStore(db.sql);
    const next = await forecast(name);
    expect(next).toMatchObject({ okSeries: 1, skippedOrigins: 168 });
    const [missed] = await db.sql<{ n: number; first: Date; last: Date; values: number }[]>`
      select count(*)::int as n, min(last_input_hour) as first, max(last_input_hour) as last,
             count(value)::int as values
      from predictions where series_id = ${series.id} and quality = 'missed'`;
    expect(missed).toEqual({
      n: 168 * 24,
      first: new Date(LAST - 168 * HOUR_MS),
      last: new Date(LAST - HOUR_MS),
      values: 0,
    });
    expectNothingLost(before, await snapshotStore(db.sql));
  });

  it('revisions of values already scored are re-scored; forecasts stay as issued', async () => {
    const name = 'revised';
    const { series } = await seedSeries(db.sql, { name }, HISTORY);
    await handlers.forecast({
      mode: 'backfill',
      from: toIso(hour(HISTORY - 48)),
      to: toIso(LAST),
      series: [name],
    });
    const first = (await handlers.evaluate({ mode: 'evaluate', at: toIso(hour(HISTORY)) })) as {
      scored: number;
    };
    expect(first.scored).toBeGreaterThan(0);
    const before = await snapshotStore(db.sql);
    const revisedHours = [HISTORY - 30, HISTORY - 29, HISTORY - 28].map(hour);
    const current = await db.sql<{ hour: Date; value: number }[]>`
      select hour, value from actuals where series_id = ${series.id}
        and hour = any(${revisedHours.map((h) => new Date(h).toISOString())}::timestamptz[]) order by hour`;
    const revision = await createPostgresStores(db.sql).actuals.upsertActuals(
      series.id,
      current.map((r) => ({ hour: r.hour.getTime(), value: r.value * 1.05 })),
      hour(HISTORY) + 30 * 60_000,
    );
    expect(revision).toEqual({ inserted: 0, revised: 3, unchanged: 0 });
    // Scores that use a revised hour: as the target, or as the persistence reference (the last input).
    const [affected] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from evaluations e join predictions p using (series_id, model_version, horizon, target_hour)
      where e.series_id = ${series.id} and (e.target_hour = any(${revisedHours.map((h) => new Date(h).toISOString())}::timestamptz[])
        or p.last_input_hour = any(${revisedHours.map((h) => new Date(h).toISOString())}::timestamptz[]))`;
    const second = (await handlers.evaluate({ mode: 'evaluate', at: toIso(hour(HISTORY) + 3_600_000) })) as {
      scored: number;
      rescored: number;
    };
    expect(second.rescored).toBe(affected!.n);
    expect(second.rescored).toBeGreaterThanOrEqual(3);
    const pgHour = (h: number) => `${new Date(h).toISOString().replace('T', ' ').slice(0, 19)}+00`;
    const revisedKeys = new Set(revisedHours.map((h) => `${series.id}|${pgHour(h)}`));
    const isRevised = (key: string) => revisedKeys.has(key);
    const after = await snapshotStore(db.sql);
    const rescoredKeys = new Set(
      [...after.evaluations].filter(([k, v]) => before.evaluations.get(k) !== v).map(([k]) => k),
    );
    expect(rescoredKeys.size).toBe(affected!.n);
    expectNothingLost(before, after, {
      changed: { actuals: isRevised, evaluations: (k) => rescoredKeys.has(k) },
    });
    const [e] = await db.sql<{ actual: number }[]>`
      select actual from evaluations where series_id = ${series.id} and target_hour = ${new Date(revisedHours[0]!)}
      and horizon = 1`;
    expect(e!.actual).toBeCloseTo(current[0]!.value * 1.05, 6);
  });

  describe('bad values in files and from the source', () => {
    it('CSV import: negative, non-finite and contradictory duplicate hours are rejected by line; stored hours keep their values', async () => {
      const name = 'csv-bad';
      const { rows } = await seedSeries(db.sql, { name }, 48);
      const before = await snapshotStore(db.sql);
      const line = (i: number, value: string) => `${toIso(hour(i))},${value}`;
      const csv = [
        'ts_utc,value',
        line(10, '-5'), // line 2
        line(11, 'NaN'),
        line(12, 'Infinity'),
        line(13, '1e400'),
        line(48, '31000'), // line 6: new and valid
        line(49, '32000'),
        line(49, '33000'), // line 8: the same hour again, different value
        line(20, String(rows[20]!.value)), // unchanged
      ].join('\n');
      const file = join(csvDir, 'csv-bad.csv');
      await writeFile(file, csv);
      const result = await importActuals(db.sql, file, { series: name }, hour(50));
      expect(result.parsed.problems.map((p) => [p.line, p.reason])).toEqual([
        [2, 'negative value -5'],
        [3, 'non-finite value "NaN"'],
        [4, 'non-finite value "Infinity"'],
        [5, 'non-finite value "1e400"'],
        [8, `duplicate hour ${toIso(hour(49))} with a different value (33000 here, 32000 on line 7)`],
      ]);
      expect([result.inserted, result.revised, result.unchanged]).toEqual([1, 0, 1]);
      const after = await snapshotStore(db.sql);
      expectNothingLost(before, after);
      expect(after.actuals.size).toBe(before.actuals.size + 1); // only hour 48; hour 49 is ambiguous
      expect(await actualAt(name, hour(10))).toBe(rows[10]!.value);
    });

    it.each([
      { what: 'a negative value', item: { mwh: -5 }, message: /items?\[1\]\.mwh|\[1\]\.mwh/ },
      { what: 'a non-finite value', item: { mwh: 'NaN' }, message: /\[1\]\.mwh/ },
      { what: 'a contradictory duplicate hour', item: { mwh: 1, dup: true }, message: /repeats hour/ },
    ])(
      'ingest: a reply with $what is refused whole; nothing stored changes; the run is recorded failed',
      async ({ item, message }) => {
        await createPostgresStores(db.sql).series.ensureSeries([{ name: 'ingested' }]);
        const now = hour(HISTORY) + 20 * 60_000;
        const good = { hour: toIso(hour(HISTORY - 2)), mwh: 30_100 };
        const bad =
          'dup' in item
            ? { hour: good.hour, mwh: 30_200 }
            : { hour: toIso(hour(HISTORY - 1)), mwh: item.mwh };
        source.route('GET', '/load', [{ body: JSON.stringify([good, bad]) }]);
        const before = await snapshotStore(db.sql);
        const runsBefore = (await runsOf(db.sql)).length;
        const error = await caught(() => handlers.ingest({ mode: 'ingest', at: toIso(now) }));
        expect(error.name).toBe('SourceError');
        expect(error.message).toMatch(message);
        expectUnchanged(before, await snapshotStore(db.sql));
        const runs = await runsOf(db.sql);
        expect(runs).toHaveLength(runsBefore + 1);
        expect(runs.at(-1)).toMatchObject({ function_name: 'ingest', outcome: 'failed' });
      },
    );

    it('the database refuses a negative or infinite actual even if a caller skipped validation, atomically', async () => {
      const { series } = await seedSeries(db.sql, { name: 'guarded' }, 24);
      const before = await snapshotStore(db.sql);
      const store = createPostgresStores(db.sql);
      for (const value of [-1, Infinity]) {
        const error = await caught(() =>
          store.actuals.upsertActuals(
            series.id,
            [
              { hour: hour(24), value: 5 },
              { hour: hour(25), value },
            ],
            hour(26),
          ),
        );
        expect((error as { code?: string }).code).toBe('23514'); // check_violation
      }
      expectUnchanged(before, await snapshotStore(db.sql));
    });
  });

  describe('daylight-saving transitions in local-time input', () => {
    // Local wall-clock times with their offsets, as a utility or a spreadsheet would export them.
    const cases = [
      {
        zone: 'America/New_York',
        what: 'spring forward 2016-03-13 (02:00 does not exist)',
        stamps: [
          '2016-03-13T00:00:00-05:00',
          '2016-03-13T01:00:00-05:00',
          '2016-03-13T03:00:00-04:00',
          '2016-03-13T04:00:00-04:00',
        ],
        firstUtc: Date.UTC(2016, 2, 13, 5),
      },
      {
        zone: 'America/New_York',
        what: 'fall back 2016-11-06 (01:00 happens twice)',
        stamps: [
          '2016-11-06T00:00:00-04:00',
          '2016-11-06T01:00:00-04:00',
          '2016-11-06T01:00:00-05:00',
          '2016-11-06T02:00:00-05:00',
        ],
        firstUtc: Date.UTC(2016, 10, 6, 4),
      },
      {
        zone: 'Europe/Istanbul',
        what: 'spring forward 2016-03-27 (03:00 does not exist)',
        stamps: [
          '2016-03-27 01:00:00+02:00',
          '2016-03-27 02:00:00+02:00',
          '2016-03-27 04:00:00+03:00',
          '2016-03-27 05:00:00+0300',
        ],
        firstUtc: Date.UTC(2016, 2, 26, 23),
      },
      {
        zone: 'Europe/Istanbul',
        what: 'the cancelled fall back of 2016-10-30 (permanent +03 since 2016-09-07)',
        stamps: [
          '2016-10-30T02:00:00+03:00',
          '2016-10-30T03:00:00+03:00',
          '2016-10-30T04:00:00+03:00',
          '2016-10-30T05:00:00+03:00',
        ],
        firstUtc: Date.UTC(2016, 9, 29, 23),
      },
    ];

    it.each(cases)(
      '$zone $what: one stored hour per real hour, no gap, no duplicate',
      async ({ zone, stamps, firstUtc }) => {
        const name = `dst-${firstUtc}`;
        const file = join(csvDir, `${name}.csv`);
        await writeFile(file, ['ts_utc,value', ...stamps.map((s, i) => `${s},${1000 + i}`)].join('\n'));
        const before = await snapshotStore(db.sql);
        const result = await importActuals(
          db.sql,
          file,
          { series: name, timezone: zone },
          Date.UTC(2017, 0, 1),
        );
        expect(result.parsed.problems).toEqual([]);
        expect(result.inserted).toBe(4);
        const stored = await db.sql<{ hour: Date; value: number }[]>`
        select a.hour, a.value from actuals a join series s on s.id = a.series_id where s.name = ${name} order by a.hour`;
        expect(stored.map((r) => [r.hour.getTime(), r.value])).toEqual(
          [0, 1, 2, 3].map((i) => [firstUtc + i * HOUR_MS, 1000 + i]),
        );
        expectNothingLost(before, await snapshotStore(db.sql));
      },
    );

    it('a local time without an offset (ambiguous around a change) is rejected with its line', async () => {
      const file = join(csvDir, 'dst-naive.csv');
      await writeFile(
        file,
        'ts_utc,value\n2016-11-06T00:00:00Z,999\n2016-11-06T01:00:00,1000\n2016-11-06T01:00:00,1001\n',
      );
      const before = await snapshotStore(db.sql);
      const result = await importActuals(db.sql, file, { series: 'dst-naive' }, Date.UTC(2017, 0, 1));
      expect(result.parsed.problems.map((p) => p.line)).toEqual([3, 4]);
      expect(result.parsed.problems[0]!.reason).toMatch(/need ISO 8601 with Z or an offset/);
      expectNothingLost(before, await snapshotStore(db.sql));
      expect(result.inserted).toBe(1); // only the line with an offset
    });

    it('forecasting a New York series across the fall-back night uses one value per real hour', async () => {
      const name = 'dst-forecast';
      const start = Date.UTC(2016, 9, 20, 0);
      const [series] = await createPostgresStores(db.sql).series.ensureSeries([
        { name, timezone: 'America/New_York', country: 'US' },
      ]);
      const rows = Array.from({ length: 24 * 18 }, (_, i) => ({
        hour: start + i * HOUR_MS,
        value: 1000 + (i % 24),
      }));
      await createPostgresStores(db.sql).actuals.upsertActuals(
        series!.id,
        rows,
        start + rows.length * HOUR_MS,
      );
      const asOf = start + rows.length * HOUR_MS + 7 * 60_000; // 2016-11-07T00:07Z, after the change
      const summary = await forecast(name, asOf);
      expect(summary.okSeries).toBe(1);
      const stored = await predictionsOf(name);
      expect(stored.map((r) => r.value)).toEqual(rows.slice(-168, -144).map((r) => r.value));
    });
  });
});
