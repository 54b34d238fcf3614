import { holidayPeriods } from '../../core/calendar/index.ts';
import type { Sql } from './client.ts';

/** The holiday periods dashboards shade, mirrored from the core's calendar. */
export class PostgresHolidaysStore {
  constructor(private readonly sql: Sql) {}

  /**
   * Writes the holiday periods of every series' country for the years asked into `holidays`.
   * Idempotent: the table mirrors the core's calendar. Returns the rows written.
   */
  async sync(fromYear: number, toYear: number): Promise<number> {
    const sql = this.sql;
    const series = await sql<{ country: string; timezone: string }[]>`
      select distinct on (country) country, timezone from series where country is not null order by country, id`;
    const rows = series.flatMap(({ country, timezone }) =>
      holidayPeriods(country, fromYear, toYear, timezone).map((p) => ({
        country,
        starts_at: new Date(p.startsAt),
        ends_at: new Date(p.endsAt),
        name: p.name,
        kind: p.kind,
      })),
    );
    if (rows.length === 0) return 0;
    const result = await sql`
      insert into holidays ${sql(rows, 'country', 'starts_at', 'ends_at', 'name', 'kind')}
      on conflict (country, starts_at, name) do update set ends_at = excluded.ends_at, kind = excluded.kind`;
    return result.count;
  }

  /**
   * Fills `holidays` for every series' country over the years that matter: from the year of the oldest
   * actual (this year when there is none) to next year, so the coming forecasts' hours are covered too.
   * Called wherever series are created or their calendar changes (`pulse import`).
   */
  async fill(now: number): Promise<{ fromYear: number; toYear: number; rows: number }> {
    const thisYear = new Date(now).getUTCFullYear();
    // One index probe per series (primary key (series_id, hour)) rather than a scan of every actual.
    const [row] = await this.sql<{ oldest: Date | null }[]>`
      select min(o.hour) as oldest
      from series s
      cross join lateral (select min(a.hour) as hour from actuals a where a.series_id = s.id) o`;
    const fromYear = Math.min(row?.oldest ? row.oldest.getUTCFullYear() : thisYear, thisYear);
    return { fromYear, toYear: thisYear + 1, rows: await this.sync(fromYear, thisYear + 1) };
  }
}
