import { existsSync, readFileSync } from 'node:fs';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import { describe, expect, it } from 'vitest';
import { parseActualsCsv } from '../../src/core/csv.ts';
import { scoreNaiveBaseline } from '../../src/core/metrics.ts';

// ../shared/data/BASELINES.md: naive baselines on the last 12 calendar months of each series.
const DATA_DIR = new URL('../../../shared/data/', import.meta.url).pathname;
const TABLE = {
  'turkey.csv': {
    1: [8760, 1272.1, 1673.7, 3.21],
    24: [8760, 2243.6, 3432.2, 5.7],
    168: [8760, 2018.9, 3166.8, 5.25],
  },
  'PJME.csv': {
    1: [8760, 1036.1, 1319.4, 3.37],
    24: [8760, 2307.3, 3146.3, 7.32],
    168: [8760, 3587.6, 4855.5, 11.24],
  },
  'AEP.csv': {
    1: [8760, 407.9, 519.6, 2.77],
    24: [8760, 935.8, 1212.9, 6.25],
    168: [8760, 1511.9, 1988.4, 9.91],
  },
  'COMED.csv': {
    1: [8760, 340.7, 449.9, 3.03],
    24: [8760, 803.3, 1142.5, 6.98],
    168: [8760, 1247.7, 1882.5, 10.57],
  },
  'spain.csv': {
    1: [8756, 1076.0, 1438.1, 3.78],
    24: [8756, 2518.9, 3606.5, 8.72],
    168: [8756, 2643.0, 3811.2, 9.12],
  },
} as const;

const available = existsSync(`${DATA_DIR}turkey.csv`);
if (!available) console.info(`skipped real-data baseline checks: ${DATA_DIR} not found`);

describe.skipIf(!available)('naive baselines reproduce ../shared/data/BASELINES.md exactly', () => {
  for (const [file, methods] of Object.entries(TABLE)) {
    it(`${file}: persistence, seasonal naive 24 h and 168 h`, () => {
      const { rows, problems } = parseActualsCsv(readFileSync(`${DATA_DIR}${file}`, 'utf8'), { file });
      expect(problems).toEqual([]);
      const last = rows[rows.length - 1]!.hour;
      const lastDate = new Date(last);
      const after = Date.UTC(
        lastDate.getUTCFullYear() - 1,
        lastDate.getUTCMonth(),
        lastDate.getUTCDate(),
        lastDate.getUTCHours(),
      );
      for (const [lag, [n, mae, rmse, mape]] of Object.entries(methods)) {
        const s = scoreNaiveBaseline(rows, Number(lag), { after, until: last });
        expect({ lag, n: s.n, mae: round(s.mae, 1), rmse: round(s.rmse, 1), mape: round(s.mape, 2) }).toEqual(
          { lag, n, mae, rmse, mape },
        );
      }
    });
  }
});

function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

describe.skipIf(!available)(
  'the database pipeline scores persistence on Türkiye 2025 like BASELINES.md',
  () => {
    it('backfill + evaluation with the persistence forecaster gives MAE 1272.1, RMSE 1673.7, MAPE 3.21 % one hour ahead', async () => {
      const { createTestDatabase } = await import('../helpers/db.ts');
      const { persistence } = await import('../../src/core/baselines.ts');
      const { singleForecaster } = await import('../../src/core/forecasting.ts');
      const { runBackfill } = await import('../../src/core/use-cases/run-backfill.ts');
      const { runEvaluation } = await import('../../src/core/use-cases/run-evaluation.ts');
      const db = await createTestDatabase();
      try {
        const { rows } = parseActualsCsv(readFileSync(`${DATA_DIR}turkey.csv`, 'utf8'), {
          file: 'turkey.csv',
        });
        const [series] = await createPostgresStores(db.sql).series.ensureSeries([
          { name: 'turkey', country: 'TR', timezone: 'Europe/Istanbul' },
        ]);
        const store = createPostgresStores(db.sql);
        await store.actuals.upsertActuals(
          series!.id,
          rows.filter((r) => r.hour >= Date.UTC(2024, 11, 1)),
          0,
        );
        const from = Date.UTC(2024, 11, 31, 21);
        const to = Date.UTC(2025, 11, 31, 20);
        const checks = { staleAfterHours: 6, flatHours: 1000, plausibleFactor: 1000 }; // score the raw baseline
        await runBackfill(store, singleForecaster(persistence), { from, to, trigger: 'test', checks });
        await runEvaluation(store, { now: to + 3_600_000, since: from, trigger: 'test' });
        const [all, h1] = await store.metrics.byHorizon({ horizons: [1], from, to });
        expect(all!.horizon).toBe(0);
        expect({
          n: h1!.n,
          mae: round(h1!.mae!, 1),
          rmse: round(h1!.rmse!, 1),
          mape: round(h1!.mape!, 2),
        }).toEqual({
          n: 8760,
          mae: 1272.1,
          rmse: 1673.7,
          mape: 3.21,
        });
        expect(h1!.skill).toBeCloseTo(0, 12); // persistence has no skill against itself
      } finally {
        await db.drop();
      }
    });
  },
);
