import { Command } from 'commander';
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
  return program;
}
