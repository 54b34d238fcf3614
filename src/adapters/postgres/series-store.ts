import { InputError } from '../../core/errors.ts';
import type { SeriesStore } from '../../core/ports/stores.ts';
import { SERIES_NAME, type SeriesInfo } from '../../core/series.ts';
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
      if (d.country && !/^[A-Z]{2}$/.test(d.country)) {
        throw new InputError(
          `country "${d.country}" of series "${d.name}" must be an ISO code such as TR or US`,
        );
      }
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
}
