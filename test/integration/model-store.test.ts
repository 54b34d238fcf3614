import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelStore } from '../../src/adapters/model-store/model-store.ts';
import { openModels } from '../../src/adapters/models.ts';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import { ModelError } from '../../src/core/errors.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { runForecast } from '../../src/core/use-cases/run-forecast.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const SHIPPED = 'pulse-mlp-turkey-2024';

/** A store that cannot be read (S3 down, bucket policy, network): every fetch fails. */
class UnreadableStore implements ModelStore {
  readonly uri = 's3://pulse-models-test/models';
  fetches = 0;
  async publish(): Promise<string> {
    throw new ModelError('not used');
  }
  async fetch(version: string): Promise<string> {
    this.fetches++;
    throw new ModelError(`cannot read s3://pulse-models-test/models/${version}.json: AccessDenied`);
  }
}

describe('forecasting from the model store', () => {
  let db: TestDatabase;
  const from = Date.UTC(2025, 4, 1);
  const to = from + (21 * 24 - 1) * HOUR_MS;

  beforeAll(async () => {
    db = await createTestDatabase();
    const stores = createPostgresStores(db.sql);
    const series = await stores.series.ensureSeries([
      { name: 'own-model', country: 'TR', timezone: 'Europe/Istanbul' },
      { name: 'default-model', country: 'TR', timezone: 'Europe/Istanbul' },
    ]);
    for (const [i, s] of series.entries()) {
      await stores.actuals.upsertActuals(
        s.id,
        generateSyntheticSeries({ from, to, seed: i + 1 }),
        to + HOUR_MS,
      );
    }
    // 'own-model' is assigned a version that only the store holds.
    await db.sql`insert into model_versions (version, kind, window_hours, horizons) values ('own-v1', 'onnx', 168, 24)`;
    await db.sql`update series set model_version = 'own-v1' where name = 'own-model'`;
  });
  afterAll(async () => db?.drop());

  it('serves the shipped default when the store is unreadable, labelled as a fallback; forecasts are still written', async () => {
    const store = new UnreadableStore();
    const stores = createPostgresStores(db.sql);
    const resolver = await openModels({ modelDir: 'model-artifacts' }, { store }).resolver(stores);
    const summary = await runForecast(stores, resolver, { asOf: to + HOUR_MS + 7 * 60_000, trigger: 'test' });
    expect(summary).toMatchObject({ seriesCount: 2, okSeries: 1, fallbackSeries: 1, forecastsWritten: 48 });
    expect(summary.fallbackReasons).toEqual({ 'model-unavailable': 1 });
    const rows = await db.sql<
      { name: string; model_version: string; method: string; quality: string; reason: string | null }[]
    >`
      select distinct s.name, p.model_version, p.method, p.quality, p.reason
      from predictions p join series s on s.id = p.series_id order by s.name`;
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { name: 'default-model', model_version: SHIPPED, method: SHIPPED, quality: 'ok', reason: null },
      {
        name: 'own-model',
        model_version: 'own-v1',
        method: SHIPPED,
        quality: 'fallback',
        reason: `model-unavailable: model own-v1 cannot be read from the model store s3://pulse-models-test/models (cannot read s3://pulse-models-test/models/own-v1.json: AccessDenied); the default model ${SHIPPED} stands in`,
      },
    ]);
    // The stand-in forecast is the shipped model's own forecast of that window, not a baseline.
    const values = await db.sql<{ name: string; value: number }[]>`
      select s.name, p.value from predictions p join series s on s.id = p.series_id
      where p.horizon = 1 order by s.name`;
    expect(values[1]!.value).toBeGreaterThan(0);
    // The next run tries the store again (once), so a recovered store is picked up without a restart.
    const before = store.fetches;
    await runForecast(stores, resolver, { asOf: to + 2 * HOUR_MS + 7 * 60_000, trigger: 'test' });
    expect(store.fetches).toBe(before + 1);
  });
});
