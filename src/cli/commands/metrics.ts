import type { Command } from 'commander';
import type { Sql } from '../../adapters/postgres/client.ts';
import { PostgresMetricsReport } from '../../adapters/postgres/metrics-report.ts';
import { parseTimeOption, say, withDatabase } from '../context.ts';
import { fixed, formatTable } from '../table.ts';

export const DEFAULT_HORIZONS = [1, 2, 3, 6, 12, 24];

/** The metrics table: MAE, RMSE, MAPE, bias, skill against persistence, interval coverage, fallback share. */
export async function metricsTable(
  sql: Sql,
  query: { seriesNames?: string[]; from?: number; to?: number; horizons?: number[] } = {},
): Promise<string> {
  const rows = await new PostgresMetricsReport(sql).byHorizon({
    ...query,
    horizons: query.horizons ?? DEFAULT_HORIZONS,
  });
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
    .option('--series <names>', 'comma-separated series')
    .option('--from <time>', 'first target hour')
    .option('--to <time>', 'last target hour')
    .option('--horizons <list>', 'horizons to list', DEFAULT_HORIZONS.join(','))
    .action(async (options: { series?: string; from?: string; to?: string; horizons: string }) => {
      await withDatabase(async ({ sql }) => {
        say(
          await metricsTable(sql, {
            seriesNames: options.series?.split(','),
            from: options.from ? parseTimeOption('from', options.from) : undefined,
            to: options.to ? parseTimeOption('to', options.to) : undefined,
            horizons: options.horizons.split(',').map(Number),
          }),
        );
      });
    });
}
