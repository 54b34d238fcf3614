import type { ActualRow } from '../../core/csv.ts';
import type { ActualsStore, ActualsUpsertResult } from '../../core/ports/stores.ts';
import type { Sql } from './client.ts';

/**
 * Hourly actuals: a changed value is a counted revision that keeps the value it replaces as an earlier
 * version (actual_versions, migration 0030); an unchanged one changes nothing.
 */
export class PostgresActualsStore implements ActualsStore {
  constructor(private readonly sql: Sql) {}

  async upsertActuals(
    seriesId: number,
    rows: readonly ActualRow[],
    receivedAt: number,
    importId: number | null = null,
  ): Promise<ActualsUpsertResult> {
    if (rows.length === 0) return { inserted: 0, revised: 0, unchanged: 0 };
    const received = new Date(receivedAt);
    // One statement: the values a revision replaces are kept in actual_versions (both CTEs read the rows
    // as they were before the statement), then the new values are upserted.
    const [counts] = await this.sql<{ inserted: number; revised: number }[]>`
      with incoming as (
        select to_timestamp(hour_ms / 1000.0) as hour, value
        from unnest(${rows.map((r) => r.hour)}::float8[], ${rows.map((r) => r.value)}::float8[]) as t(hour_ms, value)
      ),
      superseded as (
        insert into actual_versions (series_id, hour, value, received_at, import_id, superseded_at,
                                     superseded_by_import)
        select a.series_id, a.hour, a.value, a.last_received_at, a.import_id, ${received}, ${importId}
        from incoming i join actuals a on a.series_id = ${seriesId} and a.hour = i.hour
        where a.value is distinct from i.value
      ),
      upserted as (
        insert into actuals as a (series_id, hour, value, first_received_at, last_received_at, import_id)
        select ${seriesId}, hour, value, ${received}, ${received}, ${importId}
        from incoming
        on conflict (series_id, hour) do update
          set value = excluded.value,
              last_received_at = excluded.last_received_at,
              import_id = excluded.import_id,
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
