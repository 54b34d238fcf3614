import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStores, type PostgresStores } from '../../src/adapters/postgres/stores.ts';
import { seasonalNaive168 } from '../../src/core/baselines.ts';
import { DatabaseError } from '../../src/core/errors.ts';
import { singleForecaster } from '../../src/core/forecasting.ts';
import type { ScoreRequest } from '../../src/core/ports/stores.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { backfillInChunks, evaluateInChunks } from '../../src/core/use-cases/run-in-chunks.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const START = Date.UTC(2025, 0, 1);
const DAY = 24 * HOUR_MS;
const FROM = START + 20 * DAY;
const TO = FROM + 40 * DAY - HOUR_MS; // 40 days: 4 chunks of 10 days
const CHUNK_HOURS = 240;
const NOW = START + 70 * DAY;

// Issue 15, defect 4: `pulse evaluate --since 2025-01-01` over 20 series × 10 years hit the 120 s statement
// timeout and scored nothing; --since had no upper bound, so the work could not be split. Backfill and
// evaluation now run in bounded chunks that each commit, and the same command resumes where it stopped.
describe('chunked backfill and evaluation', () => {
  let db: TestDatabase;
  let stores: PostgresStores;
  const resolver = singleForecaster(seasonalNaive168);
  beforeAll(async () => {
    db = await createTestDatabase();
    stores = createPostgresStores(db.sql);
    const [series] = await stores.series.ensureSeries([
      { name: 'grid', timezone: 'Europe/Istanbul', country: 'TR' },
    ]);
    const rows = generateSyntheticSeries({ from: START, to: START + 65 * DAY, seed: 5 });
    await stores.actuals.upsertActuals(series!.id, rows, START + 66 * DAY);
  });
  afterAll(async () => db.drop());

  const count = async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from predictions`)[0]!.n;

  it('a backfill cut in its third chunk keeps the first two, and the same command resumes at the third', async () => {
    let writes = 0;
    const failing = {
      ...stores,
      forecasts: Object.assign(Object.create(stores.forecasts), {
        writeForecasts: async (...args: Parameters<typeof stores.forecasts.writeForecasts>) => {
          // Each 10-day chunk is one write (240 origins < a batch): the third write is the third chunk.
          if (++writes === 3) throw new DatabaseError('lost the connection to the database (test)');
          return stores.forecasts.writeForecasts(...args);
        },
      }),
    };
    const request = { from: FROM, to: TO, trigger: 'manual', chunkHours: CHUNK_HOURS };
    await expect(backfillInChunks(failing, stores.runs, resolver, request)).rejects.toThrow(
      'lost the connection',
    );
    expect(await count()).toBe(2 * 240 * 24);
    const outcomes = await db.sql<
      { outcome: string }[]
    >`select outcome from runs where function_name = 'backfill' order by id`;
    expect(outcomes.map((r) => r.outcome)).toEqual(['success', 'success', 'failed']);

    const resumed = await backfillInChunks(stores, stores.runs, resolver, request);
    expect(resumed).toMatchObject({ chunks: 4, skippedChunks: 2, forecastsWritten: 2 * 240 * 24 });
    expect(await count()).toBe(4 * 240 * 24); // as an uninterrupted backfill: every origin, every horizon
  });

  it('an evaluation scores chunk by chunk within bounds, refreshes the rollups once, and resumes', async () => {
    const asked: ScoreRequest[] = [];
    let rollups = 0;
    const spying = {
      ...stores,
      evaluations: Object.assign(Object.create(stores.evaluations), {
        scorePredictions: (r: ScoreRequest) => (asked.push(r), stores.evaluations.scorePredictions(r)),
        refreshRollups: (now: number) => (rollups++, stores.evaluations.refreshRollups(now)),
      }),
    };
    const request = {
      since: FROM,
      until: TO + 24 * HOUR_MS,
      now: NOW,
      trigger: 'manual',
      chunkHours: CHUNK_HOURS,
    };
    const first = await evaluateInChunks(spying, stores.runs, request);
    expect(first.chunks).toBe(5);
    expect(first.scored).toBe(4 * 240 * 24); // every backfilled forecast had matured
    expect(asked.every((r) => r.since! >= FROM && r.until - r.since! <= (CHUNK_HOURS - 1) * HOUR_MS)).toBe(
      true,
    );
    expect(rollups).toBe(1);

    asked.length = 0;
    const again = await evaluateInChunks(spying, stores.runs, request);
    expect(again).toMatchObject({ chunks: 5, skippedChunks: 4, scored: 0 });
    expect(asked).toHaveLength(1); // only the last chunk, which refreshes the rollups
  });
});
