import { Command } from 'commander';
import { setOutputMode } from './context.ts';
import { registerBacktestCommand } from './commands/backtest.ts';
import { registerDbCommand } from './commands/db.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerImportCommand } from './commands/import.ts';
import { registerImportWeatherCommand } from './commands/import-weather.ts';
import { registerMetricsCommand } from './commands/metrics.ts';
import { registerModelsCommand } from './commands/models.ts';
import { registerReportCommand } from './commands/report.ts';
import { registerRetrainCommand } from './commands/retrain.ts';
import { registerRunCommands } from './commands/run.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerTrainCommand } from './commands/train.ts';

export function buildProgram(): Command {
  const program = new Command('pulse')
    .description('Pulse: hourly energy-consumption forecasting that runs itself')
    .option('-v, --verbose', 'show logs and full stack traces')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride(); // usage errors reach runCli, which turns them into exit code 2
  registerDbCommand(program);
  registerImportCommand(program);
  registerImportWeatherCommand(program);
  registerRunCommands(program);
  registerMetricsCommand(program);
  registerDemoCommand(program);
  registerServeCommand(program);
  registerBacktestCommand(program);
  registerReportCommand(program);
  registerTrainCommand(program);
  registerModelsCommand(program);
  registerRetrainCommand(program);
  for (const command of subcommands(program)) {
    // Every command speaks JSON for scripts; those with their own --json (backtest's optional file) keep it.
    if (!command.options.some((o) => o.long === '--json'))
      command.option('--json', 'print the result as one JSON object on stdout (human lines go to stderr)');
  }
  program.hook('preAction', (_program, action) => {
    // A group (db, models) has the flag too and takes it when it follows a subcommand: ask the ancestors.
    let json = false;
    for (let c: Command | null = action; c; c = c.parent)
      json ||= ![undefined, false].includes(c.opts().json);
    setOutputMode(json, commandPath(action));
  });
  return program;
}

/** Every command below the program, groups (db, models) and their subcommands alike. */
export function subcommands(command: Command): Command[] {
  return command.commands.flatMap((c) => [c, ...subcommands(c)]);
}

/** `db status`, `models promote`: the command's words without the program's name. */
export function commandPath(command: Command): string {
  const words: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) words.unshift(c.name());
  return words.join(' ');
}
