import { holidayPeriods } from '../../core/calendar/index.ts';
import type { Sql } from './client.ts';

/**
 * Writes the holiday periods of every series' country into `holidays`, so dashboards can shade them.
 * Idempotent: the table mirrors the core's calendar for the years asked.
 */
export async function syncHolidays(sql: Sql, fromYear: number, toYear: number): Promise<number> {
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
