import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresModelRegistry } from '../../src/adapters/postgres/model-registry.ts';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import type { CandidateModel, ModelFigures } from '../../src/core/ports/model-registry.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const figures = (maeH1: number): ModelFigures => ({
  from: '2025-03-01T00:00:00.000Z',
  to: '2025-04-25T23:00:00.000Z',
  origins: 1344,
  maeH1,
  maeH24: maeH1 * 3,
  mapeH1: 0.5,
  mapeH24: 1.4,
  holidayMaeH1: null,
  holidayHours: 0,
  coverage: 0.79,
  persistenceMaeH1: 1200,
});

describe('model registry in PostgreSQL', () => {
  let db: TestDatabase;
  let registry: PostgresModelRegistry;
  let east: number;
  let west: number;
  const candidate = (version: string, seriesId: number, sha = 'a'.repeat(64)): CandidateModel => ({
    version,
    seriesId,
    windowHours: 168,
    horizons: 24,
    quantiles: [0.1, 0.5, 0.9],
    sha256: sha,
    metadata: { version },
    trainingSpan: { from: '2024-01-01T00:00:00Z', to: '2025-02-28T23:00:00Z' },
    dataFingerprint: 'd'.repeat(64),
    hyperParameters: { lr: 0.001 },
    validation: { mapeH1: 0.51 },
    backtest: figures(190),
    storeUri: `/models/${version}`,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    registry = new PostgresModelRegistry(db.sql);
    const series = await createPostgresStores(db.sql).series.ensureSeries([
      { name: 'east' },
      { name: 'west' },
    ]);
    [east, west] = series.map((s) => s.id) as [number, number];
  });
  afterAll(async () => db?.drop());

  it('registers a candidate with its span, fingerprint, hyper-parameters and figures', async () => {
    await registry.registerCandidate(candidate('east-1', east));
    const [model] = await registry.listModels(east);
    expect(model).toMatchObject({
      version: 'east-1',
      seriesName: 'east',
      status: 'candidate',
      trainingSpan: { from: '2024-01-01T00:00:00.000Z', to: '2025-02-28T23:00:00.000Z' },
      dataFingerprint: 'd'.repeat(64),
      hyperParameters: { lr: 0.001 },
      storeUri: '/models/east-1',
    });
    expect((model!.backtest as ModelFigures).maeH1).toBe(190);
    expect(await registry.championOf(east)).toBeNull();
  });

  it('promotes: the series is assigned the champion and the assignment is recorded', async () => {
    await registry.promote(east, 'east-1', 'first model of the series');
    expect((await registry.championOf(east))?.version).toBe('east-1');
    const [series] = await db.sql`select model_version from series where id = ${east}`;
    expect(series!.model_version).toBe('east-1');

    await registry.registerCandidate(candidate('east-2', east, 'b'.repeat(64)));
    await registry.promote(east, 'east-2', 'better by 3 %');
    expect((await registry.championOf(east))?.version).toBe('east-2');
    const statuses = (await registry.listModels(east)).map((m) => [m.version, m.status]);
    expect(statuses).toEqual([
      ['east-1', 'retired'],
      ['east-2', 'champion'],
    ]);
    const history = await db.sql`
      select model_version, previous_version, reason from model_assignments where series_id = ${east} order by id`;
    expect(history.map((h) => ({ ...h }))).toEqual([
      { model_version: 'east-1', previous_version: null, reason: 'first model of the series' },
      { model_version: 'east-2', previous_version: 'east-1', reason: 'better by 3 %' },
    ]);
  });

  it('never gives a champion version other bytes, nor one series another series model', async () => {
    await expect(registry.registerCandidate(candidate('east-2', east, 'c'.repeat(64)))).rejects.toThrow(
      /east-2 is a champion with other bytes/,
    );
    await registry.registerCandidate(candidate('east-2', east, 'b'.repeat(64))); // same bytes: a no-op
    await expect(registry.promote(west, 'east-2', 'wrong')).rejects.toThrow(/trained for another series/);
    await expect(registry.promote(west, 'nope', 'missing')).rejects.toThrow(/nope is not registered/);
    expect(await registry.championOf(west)).toBeNull();
  });

  it('keeps at most one champion per series, also against a direct write', async () => {
    await expect(
      db.sql`update model_versions set status = 'champion' where version = 'east-1'`,
    ).rejects.toThrow(/model_versions_one_champion_idx/);
  });

  it('records a decision with both sets of figures either way', async () => {
    const id = await registry.recordDecision({
      seriesId: east,
      challengerVersion: 'east-1',
      championVersion: 'east-2',
      promoted: false,
      reason: 'kept the champion: 1 h MAE 190.0 vs champion 185.0',
      backtestFrom: '2025-03-01T00:00:00Z',
      backtestTo: '2025-04-25T23:00:00Z',
      challengerFigures: figures(190),
      championFigures: figures(185),
    });
    const [row] = await db.sql`select * from retraining_decisions where id = ${id}`;
    expect(row!.promoted).toBe(false);
    expect(row!.challenger_figures.maeH1).toBe(190);
    expect(row!.champion_figures.maeH1).toBe(185);
    expect((row!.backtest_to as Date).toISOString()).toBe('2025-04-25T23:00:00.000Z');
  });
});
