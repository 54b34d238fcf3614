import { checkCalendar } from '../../core/calendar/validate.ts';
import { InputError } from '../../core/errors.ts';
import type { SeriesStore } from '../../core/ports/stores.ts';
import type { SeriesCalendar } from '../../core/forecaster.ts';
import { SERIES_NAME, type SeriesInfo } from '../../core/series.ts';
import type { SeriesSource } from '../../core/series-config.ts';
import type { Sql } from './client.ts';

export interface SeriesDefinition {
  readonly name: string;
  readonly unit?: string;
  readonly timezone?: string;
  readonly country?: string | null;
  readonly modelVersion?: string | null;
}

export interface SeriesRow {
  id: number;
  name: string;
  unit: string;
  timezone: string;
  country: string | null;
  model_version: string | null;
  min_plausible: number | null;
  max_plausible: number | null;
}

export function toSeriesInfo(row: SeriesRow): SeriesInfo {
  return {
    id: row.id,
    name: row.name,
    unit: row.unit,
    timezone: row.timezone,
    country: row.country,
    modelVersion: row.model_version,
    minPlausible: row.min_plausible,
    maxPlausible: row.max_plausible,
  };
}

/** The series Pulse forecasts: their names, calendars and assigned models. */
export class PostgresSeriesStore implements SeriesStore {
  constructor(private readonly sql: Sql) {}

  async findSeries(names: readonly string[]): Promise<SeriesInfo[]> {
    const rows = await this.sql<SeriesRow[]>`
      select id, name, unit, timezone, country, model_version, min_plausible, max_plausible
      from series where name = any(${names as string[]}) order by id`;
    return rows.map(toSeriesInfo);
  }

  /** Creates the series that do not exist yet (existing ones are left as they are) and returns all of them. */
  async ensureSeries(definitions: readonly SeriesDefinition[]): Promise<SeriesInfo[]> {
    const sql = this.sql;
    for (const d of definitions) {
      if (!SERIES_NAME.test(d.name)) {
        throw new InputError(
          `series name "${d.name}" is invalid: use letters, digits, '.', '_' or '-' (at most 63)`,
        );
      }
      checkCalendar({ country: d.country ?? null, timezone: d.timezone ?? 'UTC' }, `series "${d.name}"`);
    }
    const rows = definitions.map((d) => ({
      name: d.name,
      unit: d.unit ?? 'MWh',
      timezone: d.timezone ?? 'UTC',
      country: d.country ?? null,
      model_version: d.modelVersion ?? null,
    }));
    if (rows.length === 0) return [];
    await sql`
      insert into series ${sql(rows, 'name', 'unit', 'timezone', 'country', 'model_version')}
      on conflict (name) do nothing`;
    return this.findSeries(rows.map((r) => r.name));
  }

  /** The series named (unknown names are simply absent), or every active series when `names` is null. */
  async listSeries(names: readonly string[] | null): Promise<SeriesInfo[]> {
    if (names) return this.findSeries(names);
    const rows = await this.sql<SeriesRow[]>`
      select id, name, unit, timezone, country, model_version, min_plausible, max_plausible
      from series where active order by id`;
    return rows.map(toSeriesInfo);
  }

  /**
   * Applies a new time zone or country to an existing series (checked first). Forecasts already stored
   * stay as issued; the next runs build their calendar features with the new calendar. Returns the
   * calendar before and after, or null when nothing changed.
   */
  async changeCalendar(
    series: SeriesInfo,
    change: { readonly country?: string | null; readonly timezone?: string },
  ): Promise<{ before: SeriesCalendar; after: SeriesCalendar } | null> {
    const after = {
      country: change.country === undefined ? series.country : change.country,
      timezone: change.timezone ?? series.timezone,
    };
    if (after.country === series.country && after.timezone === series.timezone) return null;
    checkCalendar(after, `series "${series.name}"`);
    await this
      .sql`update series set country = ${after.country}, timezone = ${after.timezone} where id = ${series.id}`;
    return { before: { country: series.country, timezone: series.timezone }, after };
  }

  /**
   * Every active series whose actuals the ingest function reads, with its source (from the series
   * configuration, see series-config-repository.ts); one query.
   */
  async sourcedSeries(): Promise<Array<{ series: SeriesInfo; source: SeriesSource }>> {
    const rows = await this.sql<Array<SeriesRow & { source: SeriesSource }>>`
      select id, name, unit, timezone, country, model_version, min_plausible, max_plausible, source
      from series where active and source is not null order by id`;
    return rows.map((r) => ({ series: toSeriesInfo(r), source: r.source }));
  }

  /** First and newest hour with an actual per series id (two index probes each). */
  async actualsSpan(seriesIds: readonly number[]): Promise<Map<number, { first: number; last: number }>> {
    const rows = await this.sql<{ id: number; first: Date | null; last: Date | null }[]>`
      select s.id,
             (select min(hour) from actuals a where a.series_id = s.id) as first,
             (select max(hour) from actuals a where a.series_id = s.id) as last
      from unnest(${[...seriesIds]}::int[]) as s(id)`;
    const out = new Map<number, { first: number; last: number }>();
    for (const r of rows)
      if (r.first && r.last) out.set(r.id, { first: r.first.getTime(), last: r.last.getTime() });
    return out;
  }
}
