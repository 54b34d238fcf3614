import type { SeriesConfig, SeriesSource } from '../../core/series-config.ts';
import { transaction, type Sql } from './client.ts';

/** What applying the configuration changed, by series name (each list sorted). */
export interface AppliedSeriesConfig {
  readonly created: string[];
  readonly updated: string[];
  readonly unchanged: string[];
  /** Configured earlier, absent from the file now: active = false, data kept. */
  readonly deactivated: string[];
  /** Series whose `model` names a version no function has registered yet; they use the default model. */
  readonly unknownModels: Array<{ series: string; model: string }>;
}

/** A series as the manual "list series" invoke and `pulse serve` report it. */
export interface SeriesState {
  readonly name: string;
  readonly active: boolean;
  /** From the configuration file (else created by `pulse import`). */
  readonly configured: boolean;
  readonly country: string | null;
  readonly timezone: string;
  readonly unit: string;
  readonly sourceKind: SeriesSource['kind'] | null;
  readonly modelVersion: string | null;
  /** ISO hour of the newest actual, null when none arrived yet. */
  readonly newestActual: string | null;
  /** ISO target hour of the furthest forecast, null when none was made yet. */
  readonly newestForecast: string | null;
}

interface ConfigRow {
  name: string;
  unit: string;
  timezone: string;
  country: string | null;
  source: SeriesSource | null;
  model: string | null;
  active: boolean;
}

/**
 * Makes the series table match the configuration in one statement: a new entry creates its series, a
 * changed one updates it, an entry removed from the file is deactivated (never deleted, its data stays).
 * Running it again with the same file changes nothing. Series that `pulse import` created are left alone.
 * An entry without a model leaves the series' model as it is, so a deploy never undoes a champion that
 * `pulse retrain` promoted; an entry that names a model pins it on every deploy.
 */
export async function applySeriesConfig(sql: Sql, config: SeriesConfig): Promise<AppliedSeriesConfig> {
  const rows: ConfigRow[] = config.series.map((e) => ({
    name: e.name,
    unit: e.unit,
    timezone: e.timezone,
    country: e.country ?? null,
    source: e.source ?? null,
    model: e.model ?? null,
    active: e.active,
  }));
  const result = await sql<Array<{ name: string; change: 'created' | 'updated' | 'deactivated' }>>`
    with input as (
      select * from jsonb_to_recordset(${sql.json(rows as never)}::jsonb)
        as x(name text, unit text, timezone text, country text, source jsonb, model text, active boolean)
    ),
    resolved as (
      select i.name, i.unit, i.timezone, i.country, i.source, i.active, m.version as model_version
      from input i left join model_versions m on m.version = i.model
    ),
    upserted as (
      insert into series as s (name, unit, timezone, country, source, model_version, active, configured)
      select name, unit, timezone, country, source, model_version, active, true from resolved
      on conflict (name) do update
        set unit = excluded.unit, timezone = excluded.timezone, country = excluded.country,
            source = excluded.source, model_version = coalesce(excluded.model_version, s.model_version),
            active = excluded.active,
            configured = true
        where (s.unit, s.timezone, s.country, s.source, s.model_version, s.active, s.configured)
              is distinct from
              (excluded.unit, excluded.timezone, excluded.country, excluded.source,
               coalesce(excluded.model_version, s.model_version), excluded.active, true)
      returning s.name, case when xmax = 0 then 'created' else 'updated' end as change
    ),
    deactivated as (
      update series set active = false
      where configured and active and name not in (select name from input)
      returning name, 'deactivated' as change
    )
    select name, change from upserted
    union all
    select name, change from deactivated`;
  await applyWeatherLocations(sql, config);
  const by = (change: string) =>
    result
      .filter((r) => r.change === change)
      .map((r) => r.name)
      .sort();
  const changed = new Set(result.map((r) => r.name));
  const known = new Set(
    (
      await sql<{ version: string }[]>`
        select version from model_versions where version = any(${rows.flatMap((r) => (r.model ? [r.model] : []))})`
    ).map((r) => r.version),
  );
  return {
    created: by('created'),
    updated: by('updated'),
    deactivated: by('deactivated'),
    unchanged: rows
      .map((r) => r.name)
      .filter((n) => !changed.has(n))
      .sort(),
    unknownModels: rows
      .filter((r) => r.model && !known.has(r.model))
      .map((r) => ({ series: r.name, model: r.model! })),
  };
}

/**
 * Each configured series follows exactly the weather locations of its entry (none when the entry has no
 * `weather`): locations are upserted by name, the series' lists replaced. Three statements for all series.
 */
async function applyWeatherLocations(sql: Sql, config: SeriesConfig): Promise<void> {
  const locations = new Map<string, { name: string; latitude: number; longitude: number }>();
  const links: { series: string; location: string; weight: number }[] = [];
  for (const e of config.series) {
    for (const l of e.weather?.locations ?? []) {
      locations.set(l.name, { name: l.name, latitude: l.latitude, longitude: l.longitude });
      links.push({ series: e.name, location: l.name, weight: l.weight });
    }
  }
  const list = [...locations.values()];
  await transaction(sql, async (tx) => {
    if (list.length) {
      await tx`
        insert into weather_locations (name, latitude, longitude)
        select * from unnest(${list.map((l) => l.name)}::text[], ${list.map((l) => l.latitude)}::float8[],
                             ${list.map((l) => l.longitude)}::float8[])
        on conflict (name) do update set latitude = excluded.latitude, longitude = excluded.longitude
          where (weather_locations.latitude, weather_locations.longitude)
                <> (excluded.latitude, excluded.longitude)`;
    }
    await tx`
      delete from series_weather_locations sw using series s
      where sw.series_id = s.id and s.name = any(${config.series.map((e) => e.name)}::text[])`;
    if (links.length === 0) return;
    await tx`
      insert into series_weather_locations (series_id, location, weight)
      select s.id, l.location, l.weight
      from unnest(${links.map((l) => l.series)}::text[], ${links.map((l) => l.location)}::text[],
                  ${links.map((l) => l.weight)}::float8[]) as l(series, location, weight)
      join series s on s.name = l.series`;
  });
}

/** Every series with its state, newest actual and furthest forecast: one query, by name. */
export async function listSeriesStates(sql: Sql): Promise<SeriesState[]> {
  const rows = await sql<
    Array<{
      name: string;
      active: boolean;
      configured: boolean;
      country: string | null;
      timezone: string;
      unit: string;
      source_kind: SeriesSource['kind'] | null;
      model_version: string | null;
      newest_actual: Date | null;
      newest_forecast: Date | null;
    }>
  >`
    select s.name, s.active, s.configured, s.country, s.timezone, s.unit, s.source ->> 'kind' as source_kind,
           s.model_version,
           (select max(a.hour) from actuals a where a.series_id = s.id) as newest_actual,
           (select max(f.last_target_hour) from forecasts f where f.series_id = s.id) as newest_forecast
    from series s
    order by s.name`;
  return rows.map((r) => ({
    name: r.name,
    active: r.active,
    configured: r.configured,
    country: r.country,
    timezone: r.timezone,
    unit: r.unit,
    sourceKind: r.source_kind,
    modelVersion: r.model_version,
    newestActual: r.newest_actual?.toISOString() ?? null,
    newestForecast: r.newest_forecast?.toISOString() ?? null,
  }));
}
