import { PostgresWeatherStore } from '../adapters/postgres/weather-store.ts';
import type { Sql } from '../adapters/postgres/client.ts';
import { InputError } from '../core/errors.ts';
import { toIso, type HourMs } from '../core/time.ts';
import { backtestWeatherSpan } from '../core/weather-history.ts';
import type { WeatherProvenance, WindowWeather } from '../core/weather.ts';

export interface BacktestWeatherOptions {
  /** Model version, for messages. */
  readonly model: string;
  /** Locations and weights: the series' configured ones (--series), else those the model was trained with. */
  readonly locations: readonly { readonly name: string; readonly weight: number }[];
  /** Where they came from, for messages ('model metadata' or 'series turkey'). */
  readonly locationsFrom: string;
  /** First and last target hour. */
  readonly from: HourMs;
  readonly to: HourMs;
  readonly horizons: number;
}

/**
 * The weather a back-test of a weather model gives each origin, from the weather store: the forecast Pulse
 * held at the origin (newest vintage issued at or before it), else observed weather (perfect prognosis).
 * One query for the whole period. Refuses, naming locations and period, when the store has none of it.
 */
export async function storedBacktestWeather(
  sql: Sql,
  options: BacktestWeatherOptions,
): Promise<(origin: HourMs) => WindowWeather> {
  const span = backtestWeatherSpan(options.from, options.to, options.horizons);
  const names = options.locations.map((l) => l.name);
  const history = await new PostgresWeatherStore(sql).readWeatherHistory({
    locations: names,
    variable: 'temperature_2m',
    ...span,
  });
  const absent = names.filter((n) => !history.locations.includes(n));
  if (absent.length === names.length)
    throw new InputError(
      `model ${options.model} takes weather, but the database holds no temperatures for its locations (${options.locationsFrom}: ${names.join(', ')}) between ${toIso(span.from)} and ${toIso(span.to)}; import observed weather with "pulse import-weather FILE --locations FILE" or let the ingest function store forecasts`,
    );
  return (origin) => history.windowAt(options.locations, origin);
}

/** One line on where the back-test's weather came from. */
export function describeBacktestWeather(counts: Readonly<Record<WeatherProvenance, number>>): string {
  const parts = [
    `${counts.vintage} origins with the weather forecast held at the origin (stored vintages, issued at or before it)`,
  ];
  if (counts.observed > 0)
    parts.push(
      `${counts.observed} with observed weather where no vintage exists (perfect prognosis: an upper bound)`,
    );
  if (counts.mixed > 0)
    parts.push(`${counts.mixed} mixed (the vintage held ends before the last horizon; observed after it)`);
  if (counts.missing > 0)
    parts.push(
      `${counts.missing} without weather for some hour (forecast by the calendar-only model, as in service)`,
    );
  return `weather: ${parts.join('; ')}`;
}
