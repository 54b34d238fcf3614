import type { Forecaster } from '../../core/forecaster.ts';
import type { Sql } from './client.ts';

interface DescribedModel extends Forecaster {
  readonly quantiles?: readonly number[];
  readonly metadata?: { onnx?: { sha256?: string } } & object;
}

/** The model versions this deployment serves and which series are assigned to them. */
export class PostgresModelVersionsStore {
  constructor(private readonly sql: Sql) {}

  /** Records the models this process serves (one statement), so series can be assigned to them. */
  async register(forecasters: readonly Forecaster[]): Promise<void> {
    const sql = this.sql;
    const rows = forecasters.map((f) => {
      const m = f as DescribedModel;
      return {
        version: f.version,
        kind: m.metadata ? 'onnx' : 'baseline',
        window_hours: f.windowHours,
        horizons: f.horizons,
        quantiles: m.quantiles ? [...m.quantiles] : null,
        sha256: m.metadata?.onnx?.sha256 ?? null,
        metadata: sql.json((m.metadata ?? {}) as never),
      };
    });
    if (rows.length === 0) return;
    await sql`
      insert into model_versions ${sql(rows, 'version', 'kind', 'window_hours', 'horizons', 'quantiles', 'sha256', 'metadata')}
      on conflict (version) do update set sha256 = excluded.sha256, metadata = excluded.metadata`;
  }

  /** Distinct model versions assigned to active series, the version of the oldest series first. */
  async assigned(): Promise<string[]> {
    const rows = await this.sql<{ model_version: string }[]>`
      select model_version from series where active and model_version is not null
      group by model_version order by min(id)`;
    return rows.map((r) => r.model_version);
  }
}
