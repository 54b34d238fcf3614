import type { Command } from 'commander';
import { parseTimeOption, say, withDatabase } from '../context.ts';
import { scheduledEvent, withHandlers } from '../handlers.ts';

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** forecast, backfill and evaluate: the same handlers as in AWS, with the events they would receive. */
export function registerRunCommands(program: Command): void {
  program
    .command('forecast')
    .description('forecast every active series from its newest actuals, as the hourly schedule does')
    .option('--at <time>', 'run as of this time (default: now)')
    .option('--series <names>', 'comma-separated series (default: all)')
    .action(async (options: { at?: string; series?: string }) => {
      await withDatabase(async ({ url }) =>
        withHandlers(url, { verbose: program.opts().verbose }, async (handlers) => {
          const at = options.at ? parseTimeOption('at', options.at) : Date.now();
          const event = options.series
            ? { mode: 'forecast', at: iso(at), series: list(options.series) }
            : scheduledEvent(at);
          say(JSON.stringify(await handlers.forecast(event), null, 2));
        }),
      );
    });

  program
    .command('backfill')
    .description('forecast every hour of a range as if made at its time (only earlier actuals are used)')
    .requiredOption('--from <time>', 'first target hour, e.g. 2025-01-01')
    .requiredOption('--to <time>', 'last target hour, e.g. 2025-12-31T23:00:00Z')
    .option('--series <names>', 'comma-separated series (default: all)')
    .action(async (options: { from: string; to: string; series?: string }) => {
      await withDatabase(async ({ url }) =>
        withHandlers(url, { verbose: program.opts().verbose }, async (handlers) => {
          const payload = {
            mode: 'backfill',
            from: iso(parseTimeOption('from', options.from)),
            to: iso(parseTimeOption('to', options.to)),
            ...(options.series ? { series: list(options.series) } : {}),
          };
          say(JSON.stringify(await handlers.forecast(payload), null, 2));
        }),
      );
    });

  program
    .command('evaluate')
    .description('score matured forecasts, re-score revised ones, refresh rolling metrics')
    .option('--at <time>', 'evaluate as of this time (default: now)')
    .option('--since <time>', 're-score everything with a target hour since this time')
    .action(async (options: { at?: string; since?: string }) => {
      await withDatabase(async ({ url }) =>
        withHandlers(url, { verbose: program.opts().verbose }, async (handlers) => {
          const payload = {
            mode: 'evaluate',
            ...(options.at ? { at: iso(parseTimeOption('at', options.at)) } : {}),
            ...(options.since ? { since: iso(parseTimeOption('since', options.since)) } : {}),
          };
          say(JSON.stringify(await handlers.evaluate(payload), null, 2));
        }),
      );
    });
}
