import type { ActualRow } from '../../core/csv.ts';
import { InputError } from '../../core/errors.ts';
import type { ActualsUpsertResult } from '../../core/ports/stores.ts';
import { transaction, type Sql } from './client.ts';
import { lockScores, withoutScores } from './error-sums.ts';
import { PostgresActualsStore } from './actuals-store.ts';

export interface ImportRecord extends ActualsUpsertResult {
  readonly importId: number;
}

export interface UndoResult {
  readonly importId: number;
  readonly seriesName: string;
  readonly source: string;
  /** Hours whose previous value is current again. */
  readonly restored: number;
  /** Hours the import had added, removed with their scores. */
  readonly removed: number;
}

export interface ImportListing {
  readonly id: number;
  readonly series: string;
  readonly source: string;
  readonly receivedAt: Date;
  readonly inserted: number;
  readonly revised: number;
  readonly unchanged: number;
  readonly rejected: number;
  readonly undoneAt: Date | null;
}

/** Imports of actuals: each is recorded, and can be undone. */
export class PostgresImportsStore {
  constructor(private readonly sql: Sql) {}

  /**
   * Stores the rows of one import in one transaction: the `imports` row that names it, then the values
   * (a revision keeps the value it replaces as an earlier version, see migration 0030).
   */
  async importRows(request: {
    seriesId: number;
    source: string;
    rows: readonly ActualRow[];
    rejected: number;
    receivedAt: number;
  }): Promise<ImportRecord> {
    return transaction(this.sql, async (tx) => {
      const [created] = await tx<{ id: string }[]>`
      insert into imports (series_id, source, received_at, rejected)
      values (${request.seriesId}, ${request.source}, ${new Date(request.receivedAt)}, ${request.rejected})
      returning id`;
      const importId = Number(created!.id);
      const counts = await new PostgresActualsStore(tx as unknown as Sql).upsertActuals(
        request.seriesId,
        request.rows,
        request.receivedAt,
        importId,
      );
      await tx`
      update imports set inserted = ${counts.inserted}, revised = ${counts.revised},
                         unchanged = ${counts.unchanged}
      where id = ${importId}`;
      return { importId, ...counts };
    }) as Promise<ImportRecord>;
  }

  /**
   * Undoes an import: every hour whose current value it brought gets its previous value back (the
   * evaluation re-scores it), and hours it added are removed with their scores. Refused when a later
   * import or ingest has already revised some of its values: undo that one first.
   */
  async undo(importId: number, now: number): Promise<UndoResult> {
    return transaction(this.sql, async (tx) => {
      const [found] = await tx<{ series_name: string; source: string; undone_at: Date | null }[]>`
      select s.name as series_name, i.source, i.undone_at
      from imports i join series s on s.id = i.series_id where i.id = ${importId}
      for update of i`;
      if (!found)
        throw new InputError(`--undo ${importId}: no such import ("pulse import --list" shows them)`);
      if (found.undone_at)
        throw new InputError(
          `--undo ${importId}: import ${importId} was already undone at ${found.undone_at.toISOString()}`,
        );
      const [later] = await tx<{ n: number; by: string | null }[]>`
      select count(*)::int as n, max(superseded_by_import)::text as by
      from actual_versions where import_id = ${importId}`;
      if (later!.n > 0) {
        throw new InputError(
          `--undo ${importId}: ${later!.n} values of import ${importId} were revised later` +
            (later!.by
              ? ` (by import ${later!.by}); undo that import first`
              : ' by ingest; nothing was changed'),
        );
      }
      // Restore the value each hour had before (its newest earlier version), and forget that version.
      const restored = await tx`
      with previous as (
        select distinct on (v.series_id, v.hour) v.id, v.series_id, v.hour, v.value, v.received_at, v.import_id
        from actual_versions v
        where v.superseded_by_import = ${importId}
        order by v.series_id, v.hour, v.superseded_at desc, v.id desc
      ),
      forgotten as (delete from actual_versions v using previous p where v.id = p.id)
      update actuals a
      set value = p.value, last_received_at = p.received_at, import_id = p.import_id,
          revision_count = a.revision_count + 1, changed_xid = pg_current_xact_id()
      from previous p
      where a.series_id = p.series_id and a.hour = p.hour and a.import_id = ${importId}`;
      // Hours the import added (no earlier version): remove them and their scores.
      // Their scores leave the error sums too (error-sums.ts), under the lock every change of scores takes.
      await lockScores(tx);
      const [removed] = await tx<{ n: number }[]>`
      with gone as (
        delete from actuals a where a.import_id = ${importId}
        returning a.series_id, a.hour
      ),
      unscored as (
        delete from scores s using gone g where s.series_id = g.series_id and s.target_hour = g.hour
        returning s.series_id, s.model_version, s.target_hour
      ),
      -- their terms as they were (the view reads the rows as before this statement)
      removed as (
        select e.* from evaluation_terms e
        join unscored u on e.series_id = u.series_id and e.model_version = u.model_version
                       and e.target_hour = u.target_hour
      ),
      ${withoutScores(tx, 'removed')}
      select count(*)::int as n from gone`;
      await tx`update imports set undone_at = ${new Date(now)} where id = ${importId}`;
      return {
        importId,
        seriesName: found.series_name,
        source: found.source,
        restored: restored.count,
        removed: removed!.n,
      };
    }) as Promise<UndoResult>;
  }

  /** The newest imports, newest first. */
  async list(limit = 20): Promise<ImportListing[]> {
    const rows = await this.sql<
      {
        id: string;
        series: string;
        source: string;
        received_at: Date;
        inserted: number;
        revised: number;
        unchanged: number;
        rejected: number;
        undone_at: Date | null;
      }[]
    >`
    select i.id, s.name as series, i.source, i.received_at, i.inserted, i.revised, i.unchanged, i.rejected,
           i.undone_at
    from imports i join series s on s.id = i.series_id
    order by i.id desc limit ${limit}`;
    return rows.map((r) => ({
      id: Number(r.id),
      series: r.series,
      source: r.source,
      receivedAt: r.received_at,
      inserted: r.inserted,
      revised: r.revised,
      unchanged: r.unchanged,
      rejected: r.rejected,
      undoneAt: r.undone_at,
    }));
  }
}
