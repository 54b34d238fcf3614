import type {
  WeatherAsOfRequest,
  WeatherBatch,
  WeatherStore,
  WeatherWriteResult,
} from '../../core/ports/weather.ts';
import { HOUR_MS } from '../../core/time.ts';
import { WeatherHistory } from '../../core/weather-history.ts';
import {
  WEATHER_LAG_HOURS,
  WEATHER_REBUILD_HORIZON_HOURS,
  WEATHER_RETENTION_MAX_ROWS,
  type LocationSeries,
  type WeatherLocation,
} from '../../core/weather.ts';
import type postgres from 'postgres';
import { transaction, type Sql } from './client.ts';

/** Largest number of weather values per statement (a few MB of arrays). */
const WRITE_CHUNK_ROWS = 100_000;

export interface WeatherRetentionResult {
  /** Forecasts made at or after this time stay rebuildable with the weather held then. */
  readonly originFloor: number;
  readonly valuesDeleted: number;
  readonly vintagesDeleted: number;
}

/**
 * Removes the weather forecast values and vintages no stored forecast can need any more (migration 0080,
 * pulse_expire_weather): the hourly retention step, called right after the expired prediction months are
 * dropped. At most `maxRows` rows per table per call; observed weather is kept.
 */
export async function expireWeather(
  sql: Sql,
  now: number,
  maxRows: number = WEATHER_RETENTION_MAX_ROWS,
): Promise<WeatherRetentionResult> {
  const [r] = await sql<{ floor_ms: number; values_deleted: number; vintages_deleted: number }[]>`
    select extract(epoch from origin_floor)::float8 * 1000 as floor_ms, values_deleted, vintages_deleted
    from ${expireWeatherCall(sql, now, maxRows)}`;
  return { originFloor: r!.floor_ms, valuesDeleted: r!.values_deleted, vintagesDeleted: r!.vintages_deleted };
}

/** The call of pulse_expire_weather that expireWeather makes, for a statement that does more in the same round trip. */
export function expireWeatherCall(
  sql: Sql | postgres.TransactionSql,
  now: number,
  maxRows: number = WEATHER_RETENTION_MAX_ROWS,
) {
  return sql`pulse_expire_weather(${new Date(now)}, ${WEATHER_REBUILD_HORIZON_HOURS}::int, ${WEATHER_LAG_HOURS}::int, ${maxRows}::int)`;
}

/** The PostgreSQL weather store: set-based statements, a constant number per call and chunk. */
export class PostgresWeatherStore implements WeatherStore {
  constructor(private readonly sql: Sql) {}

  async upsertWeatherLocations(locations: readonly Omit<WeatherLocation, 'weight'>[]): Promise<void> {
    if (locations.length === 0) return;
    await this.sql`
      insert into weather_locations (name, latitude, longitude)
      select * from unnest(${locations.map((l) => l.name)}::text[], ${locations.map((l) => l.latitude)}::float8[],
                           ${locations.map((l) => l.longitude)}::float8[])
      on conflict (name) do update set latitude = excluded.latitude, longitude = excluded.longitude
        where (weather_locations.latitude, weather_locations.longitude) <> (excluded.latitude, excluded.longitude)`;
  }

  async writeWeather(batch: WeatherBatch): Promise<WeatherWriteResult> {
    let inserted = 0;
    let revised = 0;
    for (let i = 0; i < batch.values.length; i += WRITE_CHUNK_ROWS) {
      const chunk = batch.values.slice(i, i + WRITE_CHUNK_ROWS);
      const r =
        batch.kind === 'observed'
          ? await this.writeObserved(batch.source, chunk)
          : await this.writeForecast(batch.source, batch.issuedAt, chunk);
      inserted += r.inserted;
      revised += r.revised;
    }
    if (batch.kind === 'forecast') await this.recordVintages(batch.source, batch.issuedAt, batch.values);
    return { inserted, revised, unchanged: batch.values.length - inserted - revised };
  }

  private async writeObserved(
    source: string,
    values: WeatherBatch['values'],
  ): Promise<{ inserted: number; revised: number }> {
    const [counts] = await this.sql<{ inserted: number; revised: number }[]>`
      with upserted as (
        insert into weather_values as w (location, variable, valid_hour, issued_at, observed, value, source)
        select location, variable, to_timestamp(valid_ms / 1000.0), to_timestamp(valid_ms / 1000.0), true, value, ${source}
        from unnest(${values.map((v) => v.location)}::text[], ${values.map((v) => v.variable)}::text[],
                    ${values.map((v) => v.validHour)}::float8[], ${values.map((v) => v.value)}::float8[])
               as t(location, variable, valid_ms, value)
        on conflict (location, variable, valid_hour, issued_at, observed) do update
          set value = excluded.value, source = excluded.source, received_at = now()
          where w.value is distinct from excluded.value
        returning (xmax = 0) as inserted
      )
      select count(*) filter (where inserted)::int as inserted, count(*) filter (where not inserted)::int as revised
      from upserted`;
    return { inserted: counts!.inserted, revised: counts!.revised };
  }

  /** A forecast value is stored only when it differs from the newest value held for its hour. */
  private async writeForecast(
    source: string,
    issuedAt: number,
    values: WeatherBatch['values'],
  ): Promise<{ inserted: number; revised: number }> {
    const issued = new Date(issuedAt);
    const [counts] = await this.sql<{ inserted: number }[]>`
      with incoming as (
        select location, variable, to_timestamp(valid_ms / 1000.0) as valid_hour, value
        from unnest(${values.map((v) => v.location)}::text[], ${values.map((v) => v.variable)}::text[],
                    ${values.map((v) => v.validHour)}::float8[], ${values.map((v) => v.value)}::float8[])
               as t(location, variable, valid_ms, value)
      ), stored as (
        insert into weather_values (location, variable, valid_hour, issued_at, observed, value, source)
        select i.location, i.variable, i.valid_hour, ${issued}, false, i.value, ${source}
        from incoming i
        where not exists (
          select 1 from (
            select w.value from weather_values w
            where w.location = i.location and w.variable = i.variable and w.valid_hour = i.valid_hour
              and w.issued_at <= ${issued}
            order by w.issued_at desc, w.observed desc
            limit 1
          ) newest
          where newest.value = i.value
        )
        on conflict do nothing
        returning 1
      )
      select count(*)::int as inserted from stored`;
    return { inserted: counts!.inserted, revised: 0 };
  }

  private async recordVintages(
    source: string,
    issuedAt: number,
    values: WeatherBatch['values'],
  ): Promise<void> {
    const span = new Map<string, { first: number; last: number; hours: Set<number> }>();
    for (const v of values) {
      const s = span.get(v.location);
      if (!s) span.set(v.location, { first: v.validHour, last: v.validHour, hours: new Set([v.validHour]) });
      else {
        s.first = Math.min(s.first, v.validHour);
        s.last = Math.max(s.last, v.validHour);
        s.hours.add(v.validHour);
      }
    }
    if (span.size === 0) return;
    const rows = [...span.entries()];
    await this.sql`
      insert into weather_vintages (location, issued_at, source, first_valid, last_valid, hours)
      select location, ${new Date(issuedAt)}, ${source}, to_timestamp(first_ms / 1000.0), to_timestamp(last_ms / 1000.0), hours
      from unnest(${rows.map(([l]) => l)}::text[], ${rows.map(([, s]) => s.first)}::float8[],
                  ${rows.map(([, s]) => s.last)}::float8[], ${rows.map(([, s]) => s.hours.size)}::int[])
             as t(location, first_ms, last_ms, hours)
      on conflict (location, issued_at) do nothing`;
  }

  async readWeatherAsOf(request: WeatherAsOfRequest): Promise<Map<string, LocationSeries>> {
    const hours = Math.round((request.to - request.from) / HOUR_MS) + 1;
    const out = new Map<string, LocationSeries>();
    for (const l of request.locations)
      out.set(l, { start: request.from, values: new Float32Array(hours).fill(NaN) });
    if (request.locations.length === 0 || hours <= 0) return out;
    const rows = await this.sql<{ location: string; valid_ms: number; value: number }[]>`
      select distinct on (w.location, w.valid_hour)
             w.location, extract(epoch from w.valid_hour)::float8 * 1000 as valid_ms, w.value
      from weather_values w
      where w.location = any(${request.locations as string[]}::text[]) and w.variable = ${request.variable}
        and w.valid_hour between ${new Date(request.from)} and ${new Date(request.to)}
        and w.issued_at <= ${new Date(request.asOf)}
      order by w.location, w.valid_hour, w.issued_at desc, w.observed desc`;
    for (const r of rows) {
      const k = Math.round((r.valid_ms - request.from) / HOUR_MS);
      out.get(r.location)!.values[k] = r.value;
    }
    return out;
  }

  async readWeatherHistory(request: Omit<WeatherAsOfRequest, 'asOf'>): Promise<WeatherHistory> {
    if (request.locations.length === 0 || request.to < request.from)
      return new WeatherHistory(request.from, request.to, []);
    const rows = await this.sql<
      { location: string; valid_ms: number; issued_ms: number; observed: boolean; value: number }[]
    >`
      select location, extract(epoch from valid_hour)::float8 * 1000 as valid_ms,
             extract(epoch from issued_at)::float8 * 1000 as issued_ms, observed, value
      from weather_values
      where location = any(${request.locations as string[]}::text[]) and variable = ${request.variable}
        and valid_hour between ${new Date(request.from)} and ${new Date(request.to)}`;
    return new WeatherHistory(
      request.from,
      request.to,
      rows.map((r) => ({
        location: r.location,
        validHour: r.valid_ms,
        issuedAt: r.issued_ms,
        observed: r.observed,
        value: r.value,
      })),
    );
  }

  async latestWeatherIssues(locations: readonly string[], asOf: number): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (locations.length === 0) return out;
    const rows = await this.sql<{ location: string; issued_ms: number }[]>`
      select l.location, extract(epoch from v.issued_at)::float8 * 1000 as issued_ms
      from unnest(${locations as string[]}::text[]) as l(location)
      cross join lateral (
        select issued_at from weather_vintages
        where location = l.location and issued_at <= ${new Date(asOf)}
        order by issued_at desc limit 1
      ) v`;
    for (const r of rows) out.set(r.location, r.issued_ms);
    return out;
  }

  async setSeriesWeatherLocations(
    seriesId: number,
    locations: readonly { name: string; weight: number }[],
  ): Promise<void> {
    await transaction(this.sql, async (tx) => {
      await tx`delete from series_weather_locations where series_id = ${seriesId}`;
      if (locations.length === 0) return;
      await tx`
        insert into series_weather_locations (series_id, location, weight)
        select ${seriesId}, * from unnest(${locations.map((l) => l.name)}::text[], ${locations.map((l) => l.weight)}::float8[])`;
    });
  }

  async seriesWeatherLocations(seriesIds?: readonly number[]): Promise<Map<number, WeatherLocation[]>> {
    const ids = seriesIds ? [...seriesIds] : null;
    const rows = await this.sql<
      { series_id: number; name: string; latitude: number; longitude: number; weight: number }[]
    >`
      select sw.series_id, l.name, l.latitude, l.longitude, sw.weight
      from series_weather_locations sw
      join weather_locations l on l.name = sw.location
      join series s on s.id = sw.series_id
      where (${ids}::int[] is null and s.active) or sw.series_id = any(${ids}::int[])
      order by sw.series_id, sw.weight desc, l.name`;
    const out = new Map<number, WeatherLocation[]>();
    for (const r of rows) {
      const list = out.get(r.series_id) ?? [];
      list.push({ name: r.name, latitude: r.latitude, longitude: r.longitude, weight: r.weight });
      out.set(r.series_id, list);
    }
    return out;
  }
}
