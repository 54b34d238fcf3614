import { RowsRejectedError } from '../errors.ts';
import type { ForecastFailure } from '../forecasting.ts';
import type { OriginForecast } from '../predictions.ts';
import type { ForecastStore } from '../ports/stores.ts';

export interface IsolatedWrite {
  readonly written: number;
  /** Series whose forecasts could not be stored, with the store's message; the others are stored. */
  readonly failures: ForecastFailure[];
}

/**
 * Writes a run's forecasts at once; when the store rejects them for what they hold, writes each series'
 * forecasts on its own so one series' bad values never cost another series its forecast. Any other error
 * (the database is down) is rethrown and the run fails as before, as it does when every series is rejected.
 */
export async function writeIsolated(
  store: Pick<ForecastStore, 'writeForecasts'>,
  forecasts: readonly OriginForecast[],
  runId: number | null,
  seriesNames: ReadonlyMap<number, string>,
): Promise<IsolatedWrite> {
  try {
    return { written: await store.writeForecasts(forecasts, runId), failures: [] };
  } catch (error) {
    const bySeries = new Map<number, OriginForecast[]>();
    for (const forecast of forecasts) {
      let list = bySeries.get(forecast.seriesId);
      if (!list) bySeries.set(forecast.seriesId, (list = []));
      list.push(forecast);
    }
    if (!(error instanceof RowsRejectedError) || bySeries.size <= 1) throw error;
    let written = 0;
    const failures: ForecastFailure[] = [];
    for (const [seriesId, part] of bySeries) {
      try {
        written += await store.writeForecasts(part, runId);
      } catch (partError) {
        failures.push({
          seriesName: seriesNames.get(seriesId) ?? `series ${seriesId}`,
          origin: part.reduce((first, r) => Math.min(first, r.lastInputHour), Infinity),
          reason: `write-error: ${partError instanceof Error ? partError.message : String(partError)}`,
        });
      }
    }
    if (failures.length === bySeries.size) throw error;
    return { written, failures };
  }
}
