import type { RunLog } from '../ports/stores.ts';
import type { WeatherStore } from '../ports/weather.ts';
import type { WeatherSource } from '../ports/weather-source.ts';
import { floorToHour, toIso } from '../time.ts';
import type { WeatherLocation } from '../weather.ts';
import { recordRun } from './record-run.ts';

/** Hours ahead each weather fetch asks for. */
export const WEATHER_FETCH_HOURS_AHEAD = 48;

export interface WeatherIngestRequest {
  readonly now: number;
  readonly trigger: string;
  /** Series ids to fetch for; default every active series with weather locations. */
  readonly seriesIds?: readonly number[];
}

export interface WeatherIngestSummary {
  readonly runId: number;
  readonly locations: number;
  readonly values: number;
  /** Values stored (the rest equal the newest ones held). */
  readonly stored: number;
  readonly incomplete: readonly { readonly location: string; readonly reason: string }[];
  readonly issuedAt: string;
  readonly until: string | null;
}

/**
 * Fetches the newest weather forecast for every location a series follows and stores it as one vintage
 * issued now (run `weather`). A partial answer is stored as far as it goes and recorded as 'partial'; a
 * failed fetch is recorded as 'failed' and thrown: the caller decides that it must not stop ingest.
 */
export async function runWeatherIngest(
  stores: { readonly runs: RunLog; readonly weather: WeatherStore },
  source: WeatherSource,
  request: WeatherIngestRequest,
): Promise<WeatherIngestSummary> {
  return recordRun(
    stores.runs,
    { functionName: 'weather', trigger: request.trigger, scheduledFor: floorToHour(request.now) },
    async () => {
      const bySeries = await stores.weather.seriesWeatherLocations(request.seriesIds);
      const unique = new Map<string, WeatherLocation>();
      for (const list of bySeries.values()) for (const l of list) unique.set(l.name, l);
      const locations = [...unique.values()];
      const fetched = await source.fetch({
        locations,
        now: request.now,
        hoursAhead: WEATHER_FETCH_HOURS_AHEAD,
      });
      const written = fetched.values.length
        ? await stores.weather.writeWeather({
            kind: 'forecast',
            source: source.name,
            issuedAt: fetched.issuedAt,
            values: fetched.values,
          })
        : { inserted: 0, revised: 0, unchanged: 0 };
      const summary = {
        locations: locations.length,
        values: fetched.values.length,
        stored: written.inserted,
        incomplete: fetched.incomplete,
        issuedAt: toIso(fetched.issuedAt),
        until: fetched.to === null ? null : toIso(fetched.to),
      };
      return {
        summary,
        finish: {
          outcome: fetched.incomplete.length ? 'partial' : 'success',
          seriesCount: bySeries.size,
          rowsWritten: written.inserted,
          fallbackCount: 0,
          failedCount: new Set(fetched.incomplete.map((i) => i.location)).size,
          error: fetched.incomplete.length
            ? fetched.incomplete.map((i) => `${i.location}: ${i.reason}`).join('; ')
            : null,
          details: { source: source.name, ...summary },
        },
      };
    },
  );
}
