import type { Forecaster } from './forecaster.ts';
import type { ForecastOrigin, ModelResolver } from './forecasting.ts';
import type { WeatherStore } from './ports/weather.ts';
import { HOUR_MS, toIso } from './time.ts';
import { WEATHER_AHEAD_HOURS, WEATHER_LAG_HOURS, type WindowWeather } from './weather.ts';

export type WeatherReader = Pick<
  WeatherStore,
  'readWeatherAsOf' | 'latestWeatherIssues' | 'seriesWeatherLocations'
>;

/**
 * Gives every origin of a weather model the weather Pulse held at `asOf` (newest vintage per hour), or
 * the reason it cannot be used: no locations configured, newest forecast older than `maxAgeHours`, or an
 * hour without temperature. Three queries, whatever the number of series.
 */
export async function attachWeather(
  origins: readonly ForecastOrigin[],
  resolver: Pick<ModelResolver, 'forecasterFor'>,
  reader: WeatherReader,
  asOf: number,
  maxAgeHours: number,
): Promise<ForecastOrigin[]> {
  const needs = (f: Forecaster) => f.weather !== undefined;
  const wanted = origins.filter((o) => needs(resolver.forecasterFor(o.history.series)));
  if (wanted.length === 0) return [...origins];
  const ids = [...new Set(wanted.map((o) => o.history.series.id))];
  const locationsOf = await reader.seriesWeatherLocations(ids);
  const names = [...new Set([...locationsOf.values()].flat().map((l) => l.name))];
  const from = Math.min(...wanted.map((o) => o.origin)) - WEATHER_LAG_HOURS * HOUR_MS;
  const to = Math.max(...wanted.map((o) => o.origin)) + WEATHER_AHEAD_HOURS * HOUR_MS;
  const [values, issues] = names.length
    ? await Promise.all([
        reader.readWeatherAsOf({ locations: names, variable: 'temperature_2m', from, to, asOf }),
        reader.latestWeatherIssues(names, asOf),
      ])
    : [new Map(), new Map<string, number>()];

  return origins.map((o) => {
    if (!needs(resolver.forecasterFor(o.history.series))) return o;
    const locations = locationsOf.get(o.history.series.id) ?? [];
    const fail = (problem: string): ForecastOrigin => ({ ...o, weather: { problem } });
    if (locations.length === 0)
      return fail('weather-missing: the series has no weather locations configured');
    for (const l of locations) {
      const issued = issues.get(l.name);
      if (issued === undefined) return fail(`weather-missing: no weather forecast stored for ${l.name}`);
      const age = (asOf - issued) / HOUR_MS;
      if (age > maxAgeHours) {
        return fail(
          `weather-stale: newest forecast for ${l.name} issued ${toIso(issued)}, ${age.toFixed(1)} h ago (limit ${maxAgeHours} h)`,
        );
      }
    }
    const originIndex = Math.round((o.origin - from) / HOUR_MS);
    const weather: WindowWeather = {
      originIndex,
      locations: locations.map((l) => ({ weight: l.weight, temperature: values.get(l.name)!.values })),
    };
    for (const [k, l] of locations.entries()) {
      const t = weather.locations[k]!.temperature;
      for (let i = originIndex - WEATHER_LAG_HOURS; i <= originIndex + WEATHER_AHEAD_HOURS; i++) {
        if (Number.isNaN(t[i]!)) {
          return fail(`weather-missing: no temperature for ${l.name} at ${toIso(from + i * HOUR_MS)}`);
        }
      }
    }
    return { ...o, weather };
  });
}
