import { clearOnnxForecasterCache, loadOnnxForecaster, WINDOWS_PER_RUN } from '../src/adapters/onnx/index.ts';
import { buildFeatures } from '../src/core/features.ts';
import type { ForecastWindow } from '../src/core/forecaster.ts';
import { generateSyntheticSeries, SYNTHETIC_CALENDAR } from '../src/core/synthetic.ts';
import { HOUR_MS } from '../src/core/time.ts';
import { figure, skipped, timing, TARGETS, type Section } from './figures.ts';
import type { BenchModel } from './model.ts';
import { RssHighWater, timeRuns } from './stats.ts';

/** `count` consecutive windows of a synthetic national load (the shape the model was trained on). */
function windows(count: number, windowHours: number): ForecastWindow[] {
  const from = Date.UTC(2025, 0, 1);
  const rows = generateSyntheticSeries({ from, to: from + (count + windowHours) * HOUR_MS, seed: 42 });
  const values = Float64Array.from(rows, (r) => r.value);
  return Array.from({ length: count }, (_, i) => ({
    seriesId: 1,
    calendar: SYNTHETIC_CALENDAR,
    origin: from + (i + windowHours - 1) * HOUR_MS,
    values: values.subarray(i, i + windowHours),
  }));
}

/**
 * The ONNX forecaster as the forecast function uses it: session load (file read, sha256 check, session
 * creation, input check), then forecast() over batches (features from the core + session.run).
 */
export async function benchInference(model: BenchModel, quick: boolean): Promise<Section> {
  const title = 'Inference (ONNX, onnxruntime-node, CPU)';
  if (model.status === 'missing' || !model.version) {
    return {
      id: 'inference',
      title,
      method: `No trained model in ${model.dir}: model missing.`,
      figures: [
        skipped('inference.load', 'ONNX session load', 'ms', 'model missing'),
        skipped(
          'inference.batch8760',
          'Inference, 8,760 windows',
          'ms',
          'model missing',
          TARGETS.inference8760,
        ),
      ],
    };
  }
  const reps = quick ? 1 : 7;
  const rss = new RssHighWater().start();
  const load = await timeRuns({ repetitions: quick ? 1 : 5, before: () => clearOnnxForecasterCache() }, () =>
    loadOnnxForecaster(model.dir, model.version!),
  );
  const forecaster = await loadOnnxForecaster(model.dir, model.version);
  const sizes = quick ? [1, 100] : [1, 1000, 8760];
  const all = windows(Math.max(...sizes), forecaster.windowHours);
  const figures = [
    timing(
      'inference.load',
      `ONNX session load (${model.version}, ${(forecaster.metadata.onnx.bytes / 1e6).toFixed(1)} MB)`,
      load,
      undefined,
      'read + sha256 + InferenceSession.create + input check; the first load in a process also pays the native module',
    ),
  ];
  for (const n of sizes) {
    const batch = all.slice(0, n);
    const spread = await timeRuns({ repetitions: n === 1 ? reps * 5 : reps, warmup: 2 }, () =>
      forecaster.forecast(batch),
    );
    figures.push(
      timing(
        `inference.batch${n}`,
        n === 1
          ? 'One forecast (batch of 1 window, 24 h × 3 quantiles)'
          : `Batch of ${n.toLocaleString('en')} windows`,
        spread,
        n === 8760 ? TARGETS.inference8760 : undefined,
        n === 8760 ? 'forecast(): feature building in TypeScript + session.run' : undefined,
      ),
    );
    if (n === 8760) {
      const f = buildFeatures(batch, { windowHours: forecaster.windowHours, horizons: forecaster.horizons });
      // In runs of WINDOWS_PER_RUN windows, as forecast() does.
      const W = forecaster.windowHours;
      const C = f.calendar.length / f.n;
      const run = await timeRuns({ repetitions: reps, warmup: 1 }, async () => {
        for (let s = 0; s < f.n; s += WINDOWS_PER_RUN) {
          const e = Math.min(f.n, s + WINDOWS_PER_RUN);
          await forecaster.run(f.history.subarray(s * W, e * W), f.calendar.subarray(s * C, e * C), e - s);
        }
      });
      const features = await timeRuns({ repetitions: reps, warmup: 1 }, async () =>
        buildFeatures(batch, { windowHours: forecaster.windowHours, horizons: forecaster.horizons }),
      );
      figures.push(
        timing(
          'inference.run8760',
          `… of which session.run on prepared tensors (runs of ${WINDOWS_PER_RUN.toLocaleString('en')})`,
          run,
        ),
      );
      figures.push(
        timing('inference.features8760', '… of which feature building (calendar, holidays)', features),
      );
    }
  }
  figures.push(
    figure({
      id: 'inference.rss',
      label: 'Peak RSS during the inference section',
      value: rss.stop(),
      unit: 'MB',
      note: `process.resourceUsage().maxRSS so far: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
    }),
  );
  return {
    id: 'inference',
    title,
    method:
      `loadOnnxForecaster("${model.dir}") with the cache cleared before each load; forecast() on consecutive ` +
      `${forecaster.windowHours}-h windows of synthetic Türkiye-like load, 2 unmeasured runs first. intraOpNumThreads = 2 (as in the adapter).`,
    figures,
  };
}
