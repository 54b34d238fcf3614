import type { Command } from 'commander';
import { LocalModelStore } from '../../adapters/model-store/local-store.ts';
import { DEFAULT_BACKTEST_DAYS, runRetrainingCycle } from '../../adapters/training/retraining-cycle.ts';
import { InputError } from '../../core/errors.ts';
import { cliConfig } from '../config.ts';
import { emit, say, withDatabase } from '../context.ts';
import { DEFAULT_LOCAL_STORE } from '../paths.ts';
import { fixed, formatTable } from '../table.ts';
import { addSearchOptions, localDay, recipeFromFlags, RECIPE_FLAGS, searchFromFlags } from './train.ts';

/** `pulse retrain`: one champion/challenger cycle per series, on this machine. */
export function registerRetrainCommand(program: Command): Command {
  const command = program
    .command('retrain')
    .description(
      'champion/challenger: train a challenger per series on all but the last weeks, back-test it and the served model on those weeks, promote only if better (recorded either way)',
    )
    .option('--series <names>', 'comma-separated series (default: every active series)')
    .option(
      '--backtest-days <n>',
      'recent local days both models are scored on',
      String(DEFAULT_BACKTEST_DAYS),
    )
    .option('--store <dir>', 'model store', DEFAULT_LOCAL_STORE)
    .option(
      '--as-of <date>',
      'run the cycle as at the end of this local day (YYYY-MM-DD): later actuals are ignored (walk-forward, a missed month)',
    );
  for (const [flag, key] of Object.entries(RECIPE_FLAGS)) command.option(`--${flag} <n>`, `recipe ${key}`);
  addSearchOptions(command);
  return command.action(
    async (
      flags: Record<string, unknown> & {
        series?: string;
        backtestDays: string;
        store: string;
        asOf?: string;
      },
    ) => {
      const recipe = recipeFromFlags(flags);
      const backtestDays = Number(flags.backtestDays);
      if (!Number.isInteger(backtestDays) || backtestDays < 7) {
        throw new InputError(`--backtest-days must be a whole number ≥ 7, got "${flags.backtestDays}"`);
      }
      await withDatabase(async ({ sql }) => {
        const outcomes = await runRetrainingCycle({
          sql,
          store: new LocalModelStore(flags.store),
          modelDir: cliConfig().modelDir,
          recipe: () => recipe,
          search: searchFromFlags(flags),
          seriesNames: flags.series?.split(','),
          backtestDays,
          asOfDay: flags.asOf === undefined ? undefined : localDay(flags.asOf, '--as-of'),
          command: `pulse retrain ${process.argv.slice(3).join(' ')}`,
          log: say,
          trainer: { onLine: say },
        });
        emit(
          { outcomes },
          formatTable(
            ['series', 'challenger', 'promoted', '1 h MAE new / served', '24 h MAE new / served', 'reason'],
            outcomes.map((o) => [
              o.series,
              o.challengerVersion,
              o.promoted ? 'yes' : 'no',
              `${fixed(o.challengerFigures?.maeH1, 1) ?? '–'} / ${fixed(o.championFigures?.maeH1, 1) ?? '–'}`,
              `${fixed(o.challengerFigures?.maeH24, 1) ?? '–'} / ${fixed(o.championFigures?.maeH24, 1) ?? '–'}`,
              o.reason,
            ]),
          ),
        );
      });
    },
  );
}
