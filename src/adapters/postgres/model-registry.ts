import { DatabaseError, NotFoundError } from '../../core/errors.ts';
import type {
  CandidateModel,
  ModelRegistryStore,
  ModelStatus,
  RegisteredModel,
  RetrainingDecision,
} from '../../core/ports/model-registry.ts';
import { transaction, type Sql } from './client.ts';

interface ModelRow {
  version: string;
  series_id: number | null;
  series_name: string | null;
  status: ModelStatus | null;
  sha256: string | null;
  training_from: Date | null;
  training_to: Date | null;
  data_fingerprint: string | null;
  hyper_parameters: unknown;
  validation: unknown;
  backtest: unknown;
  store_uri: string | null;
  created_at: Date;
}

function toModel(r: ModelRow): RegisteredModel {
  return {
    version: r.version,
    seriesId: r.series_id,
    seriesName: r.series_name,
    status: r.status,
    sha256: r.sha256,
    trainingSpan:
      r.training_from && r.training_to
        ? { from: r.training_from.toISOString(), to: r.training_to.toISOString() }
        : null,
    dataFingerprint: r.data_fingerprint,
    hyperParameters: r.hyper_parameters,
    validation: r.validation,
    backtest: r.backtest,
    storeUri: r.store_uri,
    createdAt: r.created_at.toISOString(),
  };
}

/** The registry in PostgreSQL (migration 0050): model_versions, model_assignments, retraining_decisions. */
export class PostgresModelRegistry implements ModelRegistryStore {
  constructor(private readonly sql: Sql) {}

  async registerCandidate(m: CandidateModel): Promise<void> {
    const json = (v: object | null) => (v === null ? null : this.sql.json(v as never));
    const rows = await this.sql`
      insert into model_versions (version, kind, window_hours, horizons, quantiles, sha256, metadata,
        series_id, status, training_from, training_to, data_fingerprint, hyper_parameters, validation,
        backtest, store_uri)
      values (${m.version}, 'onnx', ${m.windowHours}, ${m.horizons}, ${[...m.quantiles]}, ${m.sha256},
        ${json(m.metadata)}, ${m.seriesId}, 'candidate', ${m.trainingSpan.from}, ${m.trainingSpan.to},
        ${m.dataFingerprint}, ${json(m.hyperParameters)}, ${json(m.validation)}, ${json(m.backtest)},
        ${m.storeUri})
      on conflict (version) do update set
        sha256 = excluded.sha256, metadata = excluded.metadata, series_id = excluded.series_id,
        training_from = excluded.training_from, training_to = excluded.training_to,
        data_fingerprint = excluded.data_fingerprint, hyper_parameters = excluded.hyper_parameters,
        validation = excluded.validation, backtest = excluded.backtest, store_uri = excluded.store_uri,
        status = coalesce(model_versions.status, 'candidate')
      -- A champion's version never gets other bytes: that would silently change what is served.
      where model_versions.status is distinct from 'champion' or model_versions.sha256 = excluded.sha256
      returning 1`;
    if (rows.length === 0) {
      throw new DatabaseError(
        `model ${m.version} is a champion with other bytes; register the new model under a new version`,
      );
    }
  }

  async championOf(seriesId: number): Promise<RegisteredModel | null> {
    const rows = await this.sql<ModelRow[]>`
      select m.*, s.name as series_name from model_versions m left join series s on s.id = m.series_id
      where m.series_id = ${seriesId} and m.status = 'champion'`;
    return rows[0] ? toModel(rows[0]) : null;
  }

  async promote(seriesId: number, version: string, reason: string): Promise<void> {
    await transaction(this.sql, async (tx) => {
      const [target] = await tx<{ series_id: number | null }[]>`
        select series_id from model_versions where version = ${version} for update`;
      if (!target) throw new NotFoundError(`model ${version} is not registered`);
      if (target.series_id !== null && target.series_id !== seriesId) {
        throw new DatabaseError(`model ${version} was trained for another series (id ${target.series_id})`);
      }
      const [series] = await tx<{ model_version: string | null }[]>`
        select model_version from series where id = ${seriesId} for update`;
      if (!series) throw new NotFoundError(`series id ${seriesId} does not exist`);
      await tx`
        update model_versions set status = 'retired'
        where series_id = ${seriesId} and status = 'champion' and version <> ${version}`;
      await tx`update model_versions set status = 'champion', series_id = ${seriesId} where version = ${version}`;
      await tx`update series set model_version = ${version} where id = ${seriesId}`;
      await tx`
        insert into model_assignments (series_id, model_version, previous_version, reason)
        values (${seriesId}, ${version}, ${series.model_version}, ${reason})`;
    });
  }

  async recordDecision(d: RetrainingDecision): Promise<number> {
    const json = (v: object | null) => (v === null ? null : this.sql.json(v as never));
    const [row] = await this.sql<{ id: string }[]>`
      insert into retraining_decisions (series_id, challenger_version, champion_version, promoted, reason,
        backtest_from, backtest_to, challenger_figures, champion_figures)
      values (${d.seriesId}, ${d.challengerVersion}, ${d.championVersion}, ${d.promoted}, ${d.reason},
        ${d.backtestFrom}, ${d.backtestTo}, ${json(d.challengerFigures)}, ${json(d.championFigures)})
      returning id`;
    return Number(row!.id);
  }

  /** Names of the active series (what a retraining cycle covers by default). */
  async activeSeriesNames(): Promise<string[]> {
    const rows = await this.sql<{ name: string }[]>`select name from series where active order by id`;
    return rows.map((r) => r.name);
  }

  /** The id of a series by name (a NotFoundError naming it when there is none). */
  async seriesId(name: string): Promise<number> {
    const [row] = await this.sql<{ id: number }[]>`select id from series where name = ${name}`;
    if (!row) throw new NotFoundError(`series "${name}" does not exist`);
    return row.id;
  }

  async listModels(seriesId?: number): Promise<RegisteredModel[]> {
    const rows = await this.sql<ModelRow[]>`
      select m.*, s.name as series_name from model_versions m left join series s on s.id = m.series_id
      where ${seriesId === undefined ? this.sql`true` : this.sql`m.series_id = ${seriesId}`}
      order by m.series_id nulls first, m.created_at, m.version`;
    return rows.map(toModel);
  }
}
