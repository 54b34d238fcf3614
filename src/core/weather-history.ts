import { HOUR_MS, type HourMs } from './time.ts';
import {
  WEATHER_AHEAD_HOURS,
  WEATHER_LAG_HOURS,
  WEATHER_SPAN_HOURS,
  type WeatherProvenance,
  type WindowWeather,
} from './weather.ts';

/** One stored weather value with the time it became known (observed: its valid hour). */
export interface WeatherHistoryRow {
  readonly location: string;
  readonly validHour: HourMs;
  readonly issuedAt: number;
  readonly observed: boolean;
  readonly value: number;
}

/** One location's values over the history's hours: observed ones, and every forecast value by issue time. */
interface LocationHistory {
  /** Observed value per hour index; NaN where none. */
  readonly observed: Float32Array;
  /** Forecast values of hour index k are at offsets[k] … offsets[k + 1] − 1, by ascending issue time. */
  readonly offsets: Int32Array;
  readonly issued: Float64Array;
  readonly values: Float32Array;
}

/**
 * Every weather value of some locations over a period, as stored (observed values and every forecast
 * vintage), for rebuilding the weather each origin of a back-test would have had: the store's "as of"
 * read (`readWeatherAsOf`, newest value issued at or before the origin) done in memory for thousands of
 * origins at once.
 */
export class WeatherHistory {
  private readonly byLocation = new Map<string, LocationHistory>();
  readonly hours: number;

  /** `rows` cover valid hours [from, to] (inclusive); rows outside are ignored. */
  constructor(
    readonly from: HourMs,
    readonly to: HourMs,
    rows: readonly WeatherHistoryRow[],
  ) {
    this.hours = Math.max(0, Math.round((to - from) / HOUR_MS) + 1);
    const grouped = new Map<string, WeatherHistoryRow[]>();
    for (const r of rows) {
      if (r.validHour < from || r.validHour > to) continue;
      const list = grouped.get(r.location);
      if (list) list.push(r);
      else grouped.set(r.location, [r]);
    }
    for (const [location, list] of grouped) {
      const observed = new Float32Array(this.hours).fill(NaN);
      const forecasts = list
        .filter((r) => !r.observed)
        .sort((a, b) => a.validHour - b.validHour || a.issuedAt - b.issuedAt);
      for (const r of list) if (r.observed) observed[this.index(r.validHour)] = r.value;
      const offsets = new Int32Array(this.hours + 1);
      for (const r of forecasts) offsets[this.index(r.validHour) + 1]!++;
      for (let k = 0; k < this.hours; k++) offsets[k + 1]! += offsets[k]!;
      this.byLocation.set(location, {
        observed,
        offsets,
        issued: Float64Array.from(forecasts, (r) => r.issuedAt),
        values: Float32Array.from(forecasts, (r) => r.value),
      });
    }
  }

  private index(hour: HourMs): number {
    return Math.round((hour - this.from) / HOUR_MS);
  }

  /** Locations with at least one value. */
  get locations(): string[] {
    return [...this.byLocation.keys()];
  }

  /**
   * The weather a window at `origin` sees, as the forecast run at `origin` would have read it: for every
   * hour from origin − WEATHER_LAG_HOURS to origin + WEATHER_AHEAD_HOURS, the newest value issued at or
   * before the origin (an observed value counts from its own hour on, and wins a tie). A target hour no
   * forecast issued by the origin covers falls back to its observed value, and `provenance` says how many
   * did: 'vintage' none, 'observed' all of them, 'mixed' some; 'missing' when an hour has no value at all
   * (the features then mask the window's weather).
   */
  windowAt(
    locations: readonly { readonly name: string; readonly weight: number }[],
    origin: HourMs,
  ): WindowWeather & { readonly provenance: WeatherProvenance } {
    let fromVintage = 0;
    let fromObserved = 0;
    let missing = false;
    const originIndex = WEATHER_LAG_HOURS;
    const first = this.index(origin) - WEATHER_LAG_HOURS;
    const out = locations.map(({ name, weight }) => {
      const temperature = new Float32Array(WEATHER_SPAN_HOURS).fill(NaN);
      const h = this.byLocation.get(name);
      for (let k = 0; k < WEATHER_SPAN_HOURS; k++) {
        const i = first + k;
        if (!h || i < 0 || i >= this.hours) {
          missing = true;
          continue;
        }
        const target = k > originIndex;
        const forecast = newestIssuedBy(h, i, origin);
        const observed = h.observed[i]!;
        const hour = this.from + i * HOUR_MS;
        if (forecast >= 0 && (target || Number.isNaN(observed) || h.issued[forecast]! > hour)) {
          temperature[k] = h.values[forecast]!;
          if (target) fromVintage++;
        } else if (!Number.isNaN(observed)) {
          temperature[k] = observed;
          if (target) fromObserved++;
        } else missing = true;
      }
      return { weight, temperature };
    });
    const provenance: WeatherProvenance = missing
      ? 'missing'
      : fromObserved === 0
        ? 'vintage'
        : fromVintage === 0
          ? 'observed'
          : 'mixed';
    return { locations: out, originIndex, provenance };
  }
}

/** Index of the newest forecast value for hour index i issued at or before `asOf`, or −1. */
function newestIssuedBy(h: LocationHistory, i: number, asOf: number): number {
  let lo = h.offsets[i]!;
  let hi = h.offsets[i + 1]! - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (h.issued[mid]! <= asOf) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Valid hours a back-test over targets [from, to] reads weather for (its origins' windows). */
export function backtestWeatherSpan(
  from: HourMs,
  to: HourMs,
  horizons: number,
): { from: HourMs; to: HourMs } {
  return {
    from: from - (horizons + WEATHER_LAG_HOURS) * HOUR_MS,
    to: to + WEATHER_AHEAD_HOURS * HOUR_MS,
  };
}
