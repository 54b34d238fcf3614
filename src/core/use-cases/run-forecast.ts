import {
  FALLBACK_HISTORY_HOURS,
  forecastOrigins,
  missed,
  originForecast,
  type ForecastFailure,
  type ForecastOrigin,
  type ModelResolver,
} from '../forecasting.ts';
import type { OriginForecast } from '../predictions.ts';
import { streamKey, type ForecastStore, type Stores } from '../ports/stores.ts';
import type { WindowCheckOptions } from '../validation.ts';
import { floorToHour, HOUR_MS, toIso } from '../time.ts';
import { recordRun } from './record-run.ts';
import { writeIsolated } from './write-isolated.ts';
import { attachWeather, type WeatherReader } from '../weather-windows.ts';
import { DEFAULT_WEATHER_MAX_AGE_HOURS } from '../weather.ts';

export interface ForecastRunRequest {
  /** When the run happens (the scheduled event's time): only hours that ended by then are used. */
  readonly asOf: number;
  readonly trigger: string;
  readonly seriesNames?: readonly string[];
  readonly checks?: WindowCheckOptions;
  /** Weather older than this (hours) sends a weather model's series to its calendar-only model. */
  readonly weatherMaxAgeHours?: number;
}

export interface ForecastRunSummary {
  readonly runId: number;
  readonly seriesCount: number;
  readonly forecastsWritten: number;
  readonly okSeries: number;
  readonly fallbackSeries: number;
  readonly failures: ForecastFailure[];
  readonly fallbackReasons: Record<string, number>;
  /** Origins skipped since the previous forecast (missed runs, actuals arriving in a jump), stored as 'missed'. */
  readonly skippedOrigins: number;
  /** Hours since the newest actual of the stalest series ended; NaN when there is no series. */
  readonly maxStalenessHours: number;
  /** Series of weather models forecast by their calendar-only model (weather missing or too old). */
  readonly weatherDegraded: number;
}

/** Skipped origins further back than this are not recorded (a longer hole is an outage, see docs/reliability.md). */
export const MAX_CATCH_UP_HOURS = 168;

/**
 * The hourly job: read every series' newest window in one query, forecast 1…H hours past its newest
 * actual (each with its true horizon), store them and the rows of skipped origins (two keyed upserts), and
 * record the run.
 */
export async function runForecast(
  stores: Pick<Stores, 'forecasts' | 'runs'> & { readonly weather?: WeatherReader },
  resolver: ModelResolver,
  request: ForecastRunRequest,
): Promise<ForecastRunSummary> {
  const scheduledFor = floorToHour(request.asOf);
  return recordRun(
    stores.runs,
    { functionName: 'forecast', trigger: request.trigger, scheduledFor },
    async (runId) => {
      const histories = await stores.forecasts.readLatestWindows({
        asOf: request.asOf,
        hours: Math.max(resolver.maxWindowHours, FALLBACK_HISTORY_HOURS),
        seriesNames: request.seriesNames,
      });
      await resolver.prepare?.(histories.map((h) => h.series));
      const bare = histories.map((history) => ({
        history,
        origin: history.start + (history.values.length - 1) * HOUR_MS,
        issuedAt: request.asOf,
      }));
      // Weather models get the weather held now; a missing or old forecast is labelled, never waited for.
      const origins = stores.weather
        ? await attachWeather(
            bare,
            resolver,
            stores.weather,
            request.asOf,
            request.weatherMaxAgeHours ?? DEFAULT_WEATHER_MAX_AGE_HOURS,
          )
        : bare;
      // Read before this run writes: the previous forecast origin of each series.
      const holes = await skippedOrigins(stores.forecasts, resolver, origins, request.asOf);
      const outcome = await forecastOrigins(origins, resolver, { checks: request.checks });
      const names = new Map(histories.map((h) => [h.series.id, h.series.name]));
      const write = await writeIsolated(stores.forecasts, outcome.forecasts, runId, names);
      const written = write.written;
      await writeIsolated(stores.forecasts, holes.forecasts, runId, names);
      const failures = [...outcome.failures, ...write.failures];
      const failedSeries = new Set(failures.map((f) => f.seriesName)).size;
      const maxStalenessHours = origins.length
        ? Math.max(...origins.map((o) => (request.asOf - (o.origin + HOUR_MS)) / HOUR_MS))
        : NaN;
      const summary = {
        seriesCount: histories.length,
        forecastsWritten: written,
        okSeries: outcome.okOrigins,
        fallbackSeries: outcome.fallbackOrigins,
        failures,
        fallbackReasons: outcome.fallbackReasons as Record<string, number>,
        skippedOrigins: holes.origins,
        maxStalenessHours,
        weatherDegraded: outcome.weatherDegraded,
      };
      return {
        summary,
        finish: {
          outcome: failedSeries === 0 ? 'success' : failedSeries < histories.length ? 'partial' : 'failed',
          seriesCount: histories.length,
          rowsWritten: written,
          fallbackCount: outcome.fallbackOrigins,
          failedCount: failures.length,
          error: failures.length ? failures.map((f) => `${f.seriesName}: ${f.reason}`).join('; ') : null,
          details: {
            fallbackReasons: outcome.fallbackReasons,
            maxStalenessHours,
            skippedOrigins: holes.origins,
            weatherDegraded: outcome.weatherDegraded,
          },
        },
      };
    },
  );
}

/**
 * Catch-up after missed runs (or actuals that arrived many hours at once): the origins between a series'
 * previous forecast and this run's origin were never forecast. Forecasting them now would use actuals (and
 * revisions) received after they should have been issued, so they are recorded as 'missed' forecasts
 * instead: no values, issued now, so the dashboards show the hole and evaluation skips it.
 */
async function skippedOrigins(
  store: ForecastStore,
  resolver: ModelResolver,
  origins: readonly ForecastOrigin[],
  asOf: number,
): Promise<{ forecasts: OriginForecast[]; origins: number }> {
  const streams = origins.map((o) => ({
    seriesId: o.history.series.id,
    modelVersion: resolver.forecasterFor(o.history.series).version,
  }));
  const previous = await store.latestForecastOrigins(streams);
  const forecasts: OriginForecast[] = [];
  let skipped = 0;
  origins.forEach((o, i) => {
    const stream = streams[i]!;
    const last = previous.get(streamKey(stream));
    if (last === undefined) return; // a new series or model: nothing was expected before
    const forecaster = resolver.forecasterFor(o.history.series);
    const first = Math.max(last + HOUR_MS, o.origin - MAX_CATCH_UP_HOURS * HOUR_MS);
    const reason = `not-forecast: no run forecast from this origin before newer actuals arrived (recorded at ${toIso(asOf)})`;
    for (let origin = first; origin < o.origin; origin += HOUR_MS) {
      skipped++;
      forecasts.push(
        originForecast({ history: o.history, origin, issuedAt: asOf }, forecaster.horizons, {
          modelVersion: stream.modelVersion,
          ...missed(reason),
        }),
      );
    }
  });
  return { forecasts, origins: skipped };
}
