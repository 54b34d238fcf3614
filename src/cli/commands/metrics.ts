import type { Command } from 'commander';
import type { Sql } from '../../adapters/postgres/client.ts';
import { PostgresMetricsReport, type MetricsRow } from '../../adapters/postgres/metrics-report.ts';
import { createPostgresStores } from '../../adapters/postgres/stores.ts';
import { InputError } from '../../core/errors.ts';
import { emit, withDatabase } from '../context.ts';
import { endOf, optionalTimeArg, startOf, zoneFor } from '../dates.ts';
import { selectSeries } from '../selection.ts';
import { fixed, formatTable } from '../table.ts';

export const DEFAULT_HORIZONS = [1, 2, 3, 6, 12, 24];

/** --horizons: whole hours 1–168, comma-separated; anything else is refused naming the flag and value. */
export function parseHorizons(value: string): number[] {
  const parts = value.split(',').map((p) => p.trim());
  const horizons = parts.map(Number);
  const bad = parts.find((p, i) => !/^\d+$/.test(p) || horizons[i]! < 1 || horizons[i]! > 168);
  if (bad !== undefined || parts.length === 0)
    throw new InputError(
      `--horizons "${value}": list whole hours from 1 to 168, such as 1,6,24 ("${bad}" is not one)`,
    );
  return horizons;
}

/** The metric rows per series, model and horizon (the horizons listed, default DEFAULT_HORIZONS). */
export function metricsRows(
  sql: Sql,
  query: { seriesNames?: string[]; from?: number; to?: number; horizons?: number[] } = {},
): Promise<MetricsRow[]> {
  return new PostgresMetricsReport(sql).byHorizon({ ...query, horizons: query.horizons ?? DEFAULT_HORIZONS });
}

/** The metrics table: MAE, RMSE, MAPE, bias, skill against persistence, interval coverage, fallback share. */
export function formatMetrics(rows: readonly MetricsRow[]): string {
  if (rows.length === 0)
    return 'no scored forecasts yet: run "pulse forecast" and "pulse evaluate" once actuals arrive';
  return formatTable(
    ['series', 'model', 'horizon', 'n', 'MAE', 'RMSE', 'MAPE %', 'bias', 'skill', 'cover %', 'fallback %'],
    rows.map((r) => [
      r.series,
      r.model_version,
      r.horizon === 0 ? 'all' : `${r.horizon} h`,
      r.n,
      fixed(r.mae, 1),
      fixed(r.rmse, 1),
      fixed(r.mape, 2),
      fixed(r.bias, 1),
      fixed(r.skill, 3),
      fixed(r.coverage, 1),
      fixed(r.fallback_rate, 1),
    ]),
  );
}

export function registerMetricsCommand(program: Command): void {
  program
    .command('metrics')
    .description('error metrics per series, model and horizon (skill = 1 − Σ|error| / Σ|persistence error|)')
    .option('--series <names>', 'comma-separated series (default: all)')
    .option('--from <time>', 'first target hour: a date (its first local hour) or an ISO time')
    .option('--to <time>', 'last target hour: a date (its last local hour) or an ISO time')
    .option('--horizons <list>', 'horizons to list', DEFAULT_HORIZONS.join(','))
    .action(async (options: { series?: string; from?: string; to?: string; horizons: string }) => {
      const horizons = parseHorizons(options.horizons);
      const fromArg = optionalTimeArg('from', options.from);
      const toArg = optionalTimeArg('to', options.to);
      await withDatabase(async ({ sql }) => {
        const { names, series } = await selectSeries(createPostgresStores(sql), options.series);
        const zone = zoneFor(series, [fromArg, toArg]);
        const from = fromArg && startOf(fromArg, zone);
        const to = toArg && endOf(toArg, zone);
        if (from !== undefined && to !== undefined && to < from)
          throw new InputError(`--to ${options.to} is before --from ${options.from}`);
        const query = { seriesNames: names, from, to, horizons };
        const rows = await metricsRows(sql, query);
        emit({ rows }, formatMetrics(rows));
      });
    });
}
