import type { ActualRow } from '../../core/csv.ts';
import type { ActualsStore, ActualsUpsertResult } from '../../core/ports/stores.ts';
import type { Sql } from './client.ts';

/** Hourly actuals: a changed value is a counted revision, an unchanged one changes nothing. */
export class PostgresActualsStore implements ActualsStore {
  constructor(private readonly sql: Sql) {}

  async upsertActuals(
    seriesId: number,
    rows: readonly ActualRow[],
    receivedAt: number,
  ): Promise<ActualsUpsertResult> {
    if (rows.length === 0) return { inserted: 0, revised: 0, unchanged: 0 };
    const [counts] = await this.sql<{ inserted: number; revised: number }[]>`
      with upserted as (
        insert into actuals as a (series_id, hour, value, first_received_at, last_received_at)
        select ${seriesId}, to_timestamp(hour_ms / 1000.0), value, ${new Date(receivedAt)}, ${new Date(receivedAt)}
        from unnest(${rows.map((r) => r.hour)}::float8[], ${rows.map((r) => r.value)}::float8[]) as t(hour_ms, value)
        on conflict (series_id, hour) do update
          set value = excluded.value,
              last_received_at = excluded.last_received_at,
              revision_count = a.revision_count + 1,
              changed_xid = pg_current_xact_id()
          where a.value is distinct from excluded.value
        returning (xmax = 0) as inserted
      )
      select count(*) filter (where inserted)::int as inserted, count(*) filter (where not inserted)::int as revised
      from upserted`;
    const inserted = counts!.inserted;
    const revised = counts!.revised;
    return { inserted, revised, unchanged: rows.length - inserted - revised };
  }
}
