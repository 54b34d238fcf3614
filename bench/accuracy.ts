import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadOnnxForecaster } from '../src/adapters/onnx/index.ts';
import { runBacktest, summarizeBacktest, type BacktestSummary } from '../src/core/backtest.ts';
import { seasonalNaive168 } from '../src/core/baselines.ts';
import { parseActualsCsv } from '../src/core/csv.ts';
import type { Forecaster } from '../src/core/forecaster.ts';
import { toHourlySeries } from '../src/core/hourly-series.ts';
import { HOUR_MS, toIso } from '../src/core/time.ts';
import { seriesDefaultsFor } from '../src/cli/known-datasets.ts';
import { figure, skipped, TARGETS, type Figure, type Section } from './figures.ts';
import { listModels, type BenchModel } from './model.ts';

const YEAR_HOURS = 8760;
const PJM = new Set(['pjme', 'aep', 'comed']);

/** Load series in the data folder: `ts_utc,load_mwh` files (forecast files such as spain_tso_forecast are not actuals). */
export function findDataSets(dataDir: string): string[] {
  if (!existsSync(dataDir)) return [];
  return readdirSync(dataDir)
    .filter((f) => f.endsWith('.csv'))
    .map((f) => join(dataDir, f))
    .filter((p) => readFileSync(p, 'utf8').slice(0, 200).split(/\r?\n/)[0]!.trim() === 'ts_utc,load_mwh')
    .sort();
}

/**
 * The model issue's backtest (src/core/backtest.ts) on the last 8,760 hours of each data set: the model
 * trained for that series if model-artifacts/ has one, else the default model; persistence and seasonal
 * naive are scored on exactly the same (origin, target) pairs by the backtest itself.
 */
export async function benchAccuracy(model: BenchModel, dataDir: string): Promise<Section> {
  const files = findDataSets(dataDir);
  const figures: Figure[] = [];
  const details: Record<string, unknown> = {};
  if (files.length === 0) {
    figures.push(skipped('accuracy', 'Backtests', '%', `no data sets in ${dataDir}`));
  }
  // A model trained for the data set's own series wins; the default model covers the others.
  const available = listModels(model.dir);
  for (const file of files) {
    const defaults = seriesDefaultsFor(file, {});
    const name = defaults.name;
    const calendar = { country: defaults.country, timezone: defaults.timezone };
    const parsed = parseActualsCsv(readFileSync(file, 'utf8'), { file });
    const series = toHourlySeries(parsed.rows);
    const to = series.start + (series.values.length - 1) * HOUR_MS;
    const from = to - (YEAR_HOURS - 1) * HOUR_MS;
    const own =
      available.find((m) => m.series === name && m.version === model.version) ??
      available.find((m) => m.series === name);
    let forecaster: Forecaster = seasonalNaive168;
    let which = 'model missing: references only';
    const version = own?.version ?? model.version;
    if (version) {
      forecaster = await loadOnnxForecaster(model.dir, version);
      const trainedOn = available.find((m) => m.version === version)?.series ?? '?';
      which = `${version} (trained on ${trainedOn})`;
    }
    const t0 = performance.now();
    const report = await runBacktest(series, { forecaster, calendar, from, to });
    const seconds = (performance.now() - t0) / 1000;
    const s: BacktestSummary = summarizeBacktest(report);
    details[name] = {
      file: basename(file),
      model: which,
      from: toIso(from),
      to: toIso(to),
      backtestSeconds: seconds,
      summary: s,
    };
    const p = `accuracy.${name}`;
    const isTurkey = name === 'turkey';
    const hasModel = version !== null && version !== undefined;
    const note = `${which}; ${report.origins} origins, ${toIso(from).slice(0, 10)} … ${toIso(to).slice(0, 10)}`;
    if (hasModel) {
      figures.push(
        figure({
          id: `${p}.h1.mape`,
          label: `${name}: MAPE 1 h ahead`,
          value: s.h1.mape,
          unit: '%',
          target: isTurkey ? TARGETS.turkeyH1Mape : undefined,
          note,
        }),
        figure({
          id: `${p}.h1.mae`,
          label: `${name}: MAE 1 h ahead`,
          value: s.h1.mae,
          unit: 'MWh',
          target: isTurkey ? TARGETS.turkeyH1Mae : undefined,
        }),
        figure({
          id: `${p}.h1.rmse`,
          label: `${name}: RMSE 1 h ahead`,
          value: s.h1.rmse,
          unit: 'MWh',
          target: isTurkey ? TARGETS.turkeyH1Rmse : undefined,
        }),
        figure({
          id: `${p}.h1.holidayMape`,
          label: `${name}: MAPE 1 h ahead on holiday hours (${s.h1.holidayHours} h)`,
          value: s.h1.holidayHours ? s.h1.holidayMape : null,
          unit: '%',
          target: isTurkey ? TARGETS.turkeyHolidayMape : undefined,
        }),
        figure({
          id: `${p}.h24.mape`,
          label: `${name}: MAPE 24 h ahead`,
          value: s.h24.mape,
          unit: '%',
          target: isTurkey ? TARGETS.turkeyH24Mape : undefined,
        }),
        figure({
          id: `${p}.coverage`,
          label: `${name}: 10–90 % interval coverage (all horizons)`,
          value: s.coverage === null ? null : s.coverage * 100,
          unit: '%',
          target: isTurkey ? TARGETS.coverage : undefined,
        }),
        figure({
          id: `${p}.ratio`,
          label: `${name}: persistence MAE ÷ model MAE, 1 h ahead`,
          value: s.h1.maeRatioVsPersistence,
          unit: '×',
          // The ≥ 5× target is for a model trained on the series itself (docs/model.md); the Türkiye model
          // scored on PJM data is shown for reference only.
          target: PJM.has(name) && own ? TARGETS.persistenceRatio : undefined,
          note: own ? undefined : `no model trained on ${name} in model-artifacts: scored with ${which}`,
        }),
      );
    }
    const h1 = report.horizons[0]!;
    const h24 = report.horizons[report.horizons.length - 1]!;
    figures.push(
      figure({
        id: `${p}.persistence.h1.mape`,
        label: `${name}: persistence MAPE 1 h ahead (MAE ${h1.persistence.mae.toFixed(0)})`,
        value: h1.persistence.mape,
        unit: '%',
        note: hasModel ? undefined : note,
      }),
      figure({
        id: `${p}.seasonalNaive24.h24.mape`,
        label: `${name}: seasonal naive 24 h MAPE 24 h ahead`,
        value: h24.seasonalNaive24.mape,
        unit: '%',
      }),
      figure({
        id: `${p}.seasonalNaive168.h1.mape`,
        label: `${name}: seasonal naive 168 h MAPE 1 h ahead`,
        value: h1.seasonalNaive168.mape,
        unit: '%',
      }),
    );
  }
  return {
    id: 'accuracy',
    title: 'Accuracy: backtest on the last 12 months of each data set',
    method:
      'runBacktest + summarizeBacktest (src/core/backtest.ts) over the last 8,760 hours of every `ts_utc,load_mwh` CSV in the data folder; ' +
      'every complete window is an origin, all 24 horizons scored, references on the same pairs. The data is read at bench time only.',
    figures,
    details,
  };
}
