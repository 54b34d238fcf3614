/**
 * Diagnostic only (issue 16, AEP at 1 h): does a trained model's own recent 1 h error carry over to its
 * next hour? Runs the model through runBacktest (the project's rolling-origin scoring) over its
 * validation split and the period after training, records every origin's 1 h forecast, and reports the
 * autocorrelation of the 1 h residuals e(t) = y(t) − ŷ_{origin t−1}(t) and what a linear correction
 * ŷ'(t+1) = ŷ(t+1) + Σ φ_k e(t+1−k), fitted by least squares on the validation split only, does to the
 * later period's 1 h MAE. e(t) is known at origin t (the model run on the previous origin's window).
 *
 *   npx tsx training/diagnostics/residual-ar.ts ../shared/data/AEP.csv aep MODEL_DIR VERSION 2016-08-02 2017-08-02
 */
import { createModelResolver } from '../../src/adapters/model-resolver.ts';
import { readActualsFile } from '../../src/cli/commands/import.ts';
import { knownCalendar } from '../../src/cli/known-datasets.ts';
import { dayOfIso, localHour, utcOfLocal } from '../../src/core/calendar/index.ts';
import { runBacktest } from '../../src/core/backtest.ts';
import type { Forecaster, ForecastWindow } from '../../src/core/forecaster.ts';
import { indexOf, toHourlySeries } from '../../src/core/hourly-series.ts';
import { HOUR_MS, toIso } from '../../src/core/time.ts';
import { trainingBoundaries } from '../../src/core/training-data.ts';

const [file, name, modelDir, version, until, testTo] = process.argv.slice(2);
if (!file || !name || !modelDir || !version || !until || !testTo)
  throw new Error('usage: CSV NAME MODEL_DIR VERSION UNTIL TEST_TO');
const calendar = knownCalendar(name) ?? { country: 'TR', timezone: 'Europe/Istanbul' };
const series = toHourlySeries((await readActualsFile(file)).rows);
const { trainEnd, validationStart } = trainingBoundaries(calendar.timezone, dayOfIso(until), 91);
const testEnd = utcOfLocal(calendar.timezone, dayOfIso(testTo) + 1, 0) - HOUR_MS;
const resolver = await createModelResolver({ modelDir, defaultVersion: version });
const model = resolver.defaultForecaster;

// 1 h forecast per target hour, as runBacktest's batches ask the model for them.
const h1 = new Map<number, number>();
const recording: Forecaster = {
  version: model.version,
  windowHours: model.windowHours,
  horizons: model.horizons,
  async forecast(windows: readonly ForecastWindow[]) {
    const out = await model.forecast(windows);
    windows.forEach((w, i) => h1.set(w.origin + HOUR_MS, out[i]!.values[0]!));
    return out;
  },
};
const t0 = Date.now();
// One hour earlier than the validation split so its first target has e(t−1) as well (up to lag 24).
const rep = await runBacktest(series, {
  forecaster: recording,
  calendar,
  from: validationStart - 25 * HOUR_MS,
  to: testEnd <= trainEnd ? trainEnd : testEnd,
});
const seconds = (Date.now() - t0) / 1000;

const actual = (t: number): number => {
  const i = indexOf(series, t);
  return i >= 0 && i < series.values.length ? series.values[i]! : NaN;
};
const err = (t: number): number => actual(t) - (h1.get(t) ?? NaN);

function period(from: number, to: number): number[] {
  const hours: number[] = [];
  for (let t = from; t <= to; t += HOUR_MS) hours.push(t);
  return hours;
}
// With UNTIL = TEST_TO (a model whose later period is a test year not to be looked at), the validation
// split's first half stands in for it and its second half for the later period.
const halves = testEnd <= trainEnd;
const mid = validationStart + Math.floor((trainEnd - validationStart) / HOUR_MS / 2) * HOUR_MS;
const val = halves ? period(validationStart, mid) : period(validationStart, trainEnd);
const dev = halves ? period(mid + HOUR_MS, trainEnd) : period(trainEnd + HOUR_MS, testEnd);

function acf(hours: number[], lag: number): number {
  const pairs = hours
    .map((t) => [err(t), err(t - lag * HOUR_MS)] as const)
    .filter(([a, b]) => !Number.isNaN(a + b));
  const ma = pairs.reduce((s, [a]) => s + a, 0) / pairs.length;
  const mb = pairs.reduce((s, [, b]) => s + b, 0) / pairs.length;
  let sab = 0,
    saa = 0,
    sbb = 0;
  for (const [a, b] of pairs) {
    sab += (a - ma) * (b - mb);
    saa += (a - ma) ** 2;
    sbb += (b - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Least squares φ for e(t) ≈ Σ φ_k e(t − lag_k) over the hours given (no intercept). */
function fit(hours: number[], lags: number[]): number[] {
  const k = lags.length;
  const A = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const b = new Array<number>(k).fill(0);
  for (const t of hours) {
    const y = err(t);
    const x = lags.map((l) => err(t - l * HOUR_MS));
    if (Number.isNaN(y) || x.some(Number.isNaN)) continue;
    for (let i = 0; i < k; i++) {
      b[i]! += x[i]! * y;
      for (let j = 0; j < k; j++) A[i]![j]! += x[i]! * x[j]!;
    }
  }
  // Gaussian elimination (k ≤ 4).
  for (let i = 0; i < k; i++) {
    for (let r = i + 1; r < k; r++) {
      const f = A[r]![i]! / A[i]![i]!;
      for (let c = i; c < k; c++) A[r]![c]! -= f * A[i]![c]!;
      b[r]! -= f * b[i]!;
    }
  }
  const phi = new Array<number>(k).fill(0);
  for (let i = k - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let c = i + 1; c < k; c++) s -= A[i]![c]! * phi[c]!;
    phi[i] = s / A[i]![i]!;
  }
  return phi;
}

function mae(hours: number[], lags: number[], phi: number[]): { mae: number; n: number; pers: number } {
  let s = 0,
    n = 0,
    p = 0;
  for (const t of hours) {
    const y = actual(t);
    const f = h1.get(t);
    const x = lags.map((l) => err(t - l * HOUR_MS));
    const prev = actual(t - HOUR_MS);
    if (Number.isNaN(y) || f === undefined || Number.isNaN(prev)) continue;
    const corr = x.reduce((a, e, i) => a + (Number.isNaN(e) ? 0 : phi[i]! * e), 0);
    s += Math.abs(y - (f + corr));
    p += Math.abs(y - prev);
    n++;
  }
  return { mae: s / n, n, pers: p / n };
}

const out: Record<string, unknown> = {
  series: name,
  model: version,
  fittedOn: [toIso(val[0]!), toIso(val[val.length - 1]!)],
  later: [toIso(dev[0]!), toIso(dev[dev.length - 1]!)],
  backtestSeconds: seconds,
  backtestOrigins: rep.origins,
  acf: {
    validation: Object.fromEntries([1, 2, 3, 24, 168].map((l) => [l, +acf(val, l).toFixed(3)])),
    later: Object.fromEntries([1, 2, 3, 24, 168].map((l) => [l, +acf(dev, l).toFixed(3)])),
  },
};
const base = { val: mae(val, [], []), dev: mae(dev, [], []) };
out.base = {
  valMae: +base.val.mae.toFixed(2),
  laterMae: +base.dev.mae.toFixed(2),
  laterN: base.dev.n,
  laterPersistence: +base.dev.pers.toFixed(2),
  ratio: +(base.dev.pers / base.dev.mae).toFixed(3),
};
const sets = [[1], [1, 2], [1, 2, 3], [1, 24], [1, 2, 24]];
out.corrections = sets.map((lags) => {
  const phi = fit(val, lags);
  const v = mae(val, lags, phi);
  const d = mae(dev, lags, phi);
  // The same fitted on the later period itself: an upper bound of what a linear correction can give.
  const phiOracle = fit(dev, lags);
  return {
    lags,
    phi: phi.map((x) => +x.toFixed(3)),
    valMae: +v.mae.toFixed(2),
    laterMae: +d.mae.toFixed(2),
    laterRatio: +(d.pers / d.mae).toFixed(3),
    laterChangePct: +((100 * (d.mae - base.dev.mae)) / base.dev.mae).toFixed(2),
    oraclePhi: phiOracle.map((x) => +x.toFixed(3)),
    oracleLaterMae: +mae(dev, lags, phiOracle).mae.toFixed(2),
  };
});

// Two other post-hoc corrections, same rule (fitted on the first period only): the forecast change from
// the newest actual scaled by α, and a bias per local hour of the target.
{
  const pairs = (hours: number[]) =>
    hours
      .map((t) => ({ t, y: actual(t), f: h1.get(t) ?? NaN, last: actual(t - HOUR_MS) }))
      .filter((p) => !Number.isNaN(p.y + p.f + p.last));
  const pv = pairs(val);
  const pd = pairs(dev);
  let sxy = 0,
    sxx = 0;
  for (const p of pv) {
    sxy += (p.f - p.last) * (p.y - p.last);
    sxx += (p.f - p.last) ** 2;
  }
  const alpha = sxy / sxx;
  const m = (ps: typeof pd, g: (p: (typeof pd)[number]) => number) =>
    ps.reduce((s, p) => s + Math.abs(p.y - g(p)), 0) / ps.length;
  out.changeScale = {
    alpha: +alpha.toFixed(4),
    laterMae: +m(pd, (p) => p.last + alpha * (p.f - p.last)).toFixed(2),
  };
  const hourOf = (t: number) => new Date(t).getUTCHours();
  const bias = new Array<number>(24).fill(0);
  const cnt = new Array<number>(24).fill(0);
  for (const p of pv) {
    bias[hourOf(p.t)]! += p.y - p.f;
    cnt[hourOf(p.t)]!++;
  }
  out.hourBias = { laterMae: +m(pd, (p) => p.f + bias[hourOf(p.t)]! / cnt[hourOf(p.t)]!).toFixed(2) };
}
// Where the later period's 1 h error lies: by local hour of the target (model and persistence MAE), and
// the share of the model's absolute error carried by its largest 1 % and 5 % of hours.
{
  const sum = new Array<number>(24).fill(0);
  const pers = new Array<number>(24).fill(0);
  const count = new Array<number>(24).fill(0);
  const errors: number[] = [];
  for (const t of dev) {
    const y = actual(t);
    const f = h1.get(t);
    const last = actual(t - HOUR_MS);
    if (Number.isNaN(y) || f === undefined || Number.isNaN(last)) continue;
    const h = localHour(calendar.timezone, t).hour;
    sum[h]! += Math.abs(y - f);
    pers[h]! += Math.abs(y - last);
    count[h]!++;
    errors.push(Math.abs(y - f));
  }
  errors.sort((a, b) => b - a);
  const total = errors.reduce((a, b) => a + b, 0);
  const share = (part: number) =>
    +(errors.slice(0, Math.round(errors.length * part)).reduce((a, b) => a + b, 0) / total).toFixed(3);
  out.byLocalHour = sum.map((s, h) => ({
    hour: h,
    mae: +(s / count[h]!).toFixed(1),
    persistenceMae: +(pers[h]! / count[h]!).toFixed(1),
  }));
  out.largestHoursShare = { '1%': share(0.01), '5%': share(0.05) };
}
console.log(JSON.stringify(out, null, 1));
