import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalModelStore } from '../../src/adapters/model-store/local-store.ts';
import { openModels } from '../../src/adapters/models.ts';
import { PostgresModelRegistry } from '../../src/adapters/postgres/model-registry.ts';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import type { TrainingRecipe } from '../../src/adapters/training/recipe.ts';
import { runRetrainingCycle } from '../../src/adapters/training/retraining-cycle.ts';
import { trainCandidate } from '../../src/adapters/training/train-candidate.ts';
import { readTrainingActuals } from '../../src/adapters/postgres/training-actuals.ts';
import { dayOfIso } from '../../src/core/calendar/localTime.ts';
import type { ActualRow } from '../../src/core/csv.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { runForecast } from '../../src/core/use-cases/run-forecast.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { CALENDAR, DAYS, FROM, TINY, hasTorch, regimeChange } from '../helpers/regime-change.ts';

/**
 * Champion/challenger end to end, with real (tiny) PyTorch trainings: a regime change makes the
 * challenger win and the next forecast run serve it without a deploy; a challenger trained on too
 * little data loses and the champion stays. Skips without PyTorch, like the training smoke test.
 */
if (!hasTorch) console.warn('skipped retraining tests: run npm run setup:training to enable');

describe.runIf(hasTorch)('champion/challenger retraining', () => {
  let db: TestDatabase;
  const scratch = mkdtempSync(join(tmpdir(), 'pulse-retrain-'));
  const store = new LocalModelStore(join(scratch, 'store'));
  const work = join(scratch, 'work');
  const quiet = { onLine: () => undefined };

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function seriesWithChampion(name: string, rows: ActualRow[], championUntil: string) {
    const stores = createPostgresStores(db.sql);
    const [series] = await stores.series.ensureSeries([{ name, ...CALENDAR }]);
    await stores.actuals.upsertActuals(series!.id, rows, rows.at(-1)!.hour + HOUR_MS);
    const registry = new PostgresModelRegistry(db.sql);
    const { actuals } = await readTrainingActuals(db.sql, name);
    const { candidate } = await trainCandidate({
      series: series!,
      actuals,
      recipe: TINY,
      untilDay: dayOfIso(championUntil),
      testTo: null,
      store,
      registry,
      command: 'test champion',
      version: `${name}-champion`,
      workDir: work,
      trainer: quiet,
      log: () => undefined,
    });
    await registry.promote(series!.id, candidate.version, 'first model of the series');
    return { series: series!, registry };
  }

  it('replaces a champion trained before a regime change, and the next forecast run serves the challenger', async () => {
    const rows = regimeChange(
      generateSyntheticSeries({
        from: FROM,
        to: FROM + (DAYS * 24 - 1) * HOUR_MS,
        calendar: CALENDAR,
        seed: 11,
      }),
    );
    // The champion saw only the old regime (trained to day 49).
    const { series, registry } = await seriesWithChampion('regime', rows, '2025-02-23');
    const stores = createPostgresStores(db.sql);
    // A warm container: its models were loaded before the cycle ran.
    const models = openModels({ modelDir: 'model-artifacts', modelStore: store.uri });
    const resolver = await models.resolver(stores);
    const lastHour = rows.at(-1)!.hour;
    await runForecast(stores, resolver, { asOf: lastHour - 23 * HOUR_MS + 7 * 60_000, trigger: 'test' });

    const [outcome] = await runRetrainingCycle({
      sql: db.sql,
      store,
      modelDir: 'model-artifacts',
      recipe: () => TINY,
      seriesNames: ['regime'],
      backtestDays: 14,
      command: 'test retrain',
      trainer: quiet,
      workDir: work,
      log: () => undefined,
    });
    expect(outcome!.servedVersion).toBe('regime-champion');
    expect(outcome!.reason).toMatch(/^better by ≥ 2.0 %/);
    expect(outcome!.promoted).toBe(true);
    const challenger = outcome!.challengerVersion!;
    expect(outcome!.challengerFigures!.maeH24).toBeLessThan(0.98 * outcome!.championFigures!.maeH24);
    expect(outcome!.challengerFigures!.maeH1).toBeLessThan(0.98 * outcome!.championFigures!.maeH1);
    // Both scored on the same 14 local days, every hour an origin.
    expect(outcome!.challengerFigures!.from).toBe(outcome!.championFigures!.from);
    expect(outcome!.challengerFigures!.origins).toBe(outcome!.championFigures!.origins);
    expect((await registry.championOf(series.id))?.version).toBe(challenger);
    const [decision] = await db.sql`select * from retraining_decisions where id = ${outcome!.decisionId}`;
    expect(decision).toMatchObject({ promoted: true, challenger_version: challenger });

    // The next hourly run, in the same container, serves the challenger: no deploy, no restart.
    await runForecast(stores, resolver, { asOf: lastHour + HOUR_MS + 7 * 60_000, trigger: 'test' });
    const served = await db.sql<{ model_version: string; method: string; quality: string }[]>`
      select distinct model_version, method, quality from predictions
      where series_id = ${series.id} and last_input_hour = ${new Date(lastHour)}`;
    expect(served.map((r) => ({ ...r }))).toEqual([
      { model_version: challenger, method: challenger, quality: 'ok' },
    ]);
  }, 300_000);

  it('rejects a challenger trained on too little data: the champion stays, both figure sets recorded', async () => {
    const rows = generateSyntheticSeries({
      from: FROM,
      to: FROM + (84 * 24 - 1) * HOUR_MS,
      calendar: CALENDAR,
      seed: 12,
    });
    const { series, registry } = await seriesWithChampion('steady', rows, '2025-03-16');
    const starved: TrainingRecipe = { ...TINY, maxTrain: 24, epochs: 1, hidden: 8, patience: 1 };
    const [outcome] = await runRetrainingCycle({
      sql: db.sql,
      store,
      modelDir: 'model-artifacts',
      recipe: () => starved,
      seriesNames: ['steady'],
      backtestDays: 14,
      command: 'test retrain',
      trainer: quiet,
      workDir: work,
      log: () => undefined,
    });
    expect(outcome!.promoted).toBe(false);
    expect(outcome!.reason).toMatch(/^kept the champion: 1 h MAE/);
    expect(outcome!.challengerFigures!.maeH1).toBeGreaterThan(outcome!.championFigures!.maeH1);
    expect((await registry.championOf(series.id))?.version).toBe('steady-champion');
    const [decision] = await db.sql`select * from retraining_decisions where id = ${outcome!.decisionId}`;
    expect(decision!.promoted).toBe(false);
    expect(decision!.champion_version).toBe('steady-champion');
    expect(decision!.challenger_figures.maeH1).toBeCloseTo(outcome!.challengerFigures!.maeH1, 6);
    expect(decision!.champion_figures.maeH1).toBeCloseTo(outcome!.championFigures!.maeH1, 6);
    const statuses = (await registry.listModels(series.id)).map((m) => m.status);
    expect(statuses.sort()).toEqual(['candidate', 'champion']);
  }, 300_000);
});
