import type { Command } from 'commander';
import { PostgresModelRegistry } from '../../adapters/postgres/model-registry.ts';
import type { ModelFigures } from '../../core/ports/model-registry.ts';
import { InputError } from '../../core/errors.ts';
import { emit, withDatabase } from '../context.ts';
import { fixed, formatTable } from '../table.ts';

/** `pulse models`: the model registry (versions, status, figures) and manual promotion. */
export function registerModelsCommand(program: Command): void {
  const models = program
    .command('models')
    .description('the model registry: trained versions per series, their status and back-test figures')
    .option('--series <name>', 'only this series')
    .action(async (flags: { series?: string }) => {
      await withDatabase(async ({ sql }) => {
        const registry = new PostgresModelRegistry(sql);
        const list = await registry.listModels(
          flags.series ? await registry.seriesId(flags.series) : undefined,
        );
        const trained = list.filter((m) => m.seriesId !== null);
        emit(
          { models: trained },
          trained.length === 0
            ? 'no trained models registered yet: run "pulse train --series NAME" or "pulse retrain"'
            : formatTable(
                ['series', 'version', 'status', 'trained to', '1 h MAE', '24 h MAE', 'coverage %'],
                trained.map((m) => {
                  const f = m.backtest as ModelFigures | null;
                  return [
                    m.seriesName,
                    m.version,
                    m.status,
                    m.trainingSpan?.to.slice(0, 16) ?? null,
                    fixed(f?.maeH1, 1),
                    fixed(f?.maeH24, 1),
                    fixed(f ? f.coverage * 100 : null, 1),
                  ];
                }),
              ),
        );
      });
    });
  models
    .command('promote <version>')
    .description('make a registered version the champion of its series (it is served from the next run)')
    .option('--series <name>', 'the series (required)')
    .option('--reason <text>', 'recorded with the assignment', 'promoted by hand')
    .action(async (version: string, flags: { series?: string; reason: string }) => {
      // Commander hands a --series typed after "promote" to `models`, which has the same flag: read either.
      const series = flags.series ?? (models.opts() as { series?: string }).series;
      if (!series) throw new InputError('models promote needs --series NAME');
      await withDatabase(async ({ sql }) => {
        const registry = new PostgresModelRegistry(sql);
        await registry.promote(await registry.seriesId(series), version, flags.reason);
        emit({ series, version, status: 'champion' }, `${version} is now the champion of ${series}`);
      });
    });
}
