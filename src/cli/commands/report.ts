import { join } from 'node:path';
import type { Command } from 'commander';
import { writeReport, writeReportPng } from '../../adapters/report/index.ts';
import { createPostgresStores } from '../../adapters/postgres/stores.ts';
import { InputError } from '../../core/errors.ts';
import { emit, withDatabase } from '../context.ts';
import { endOf, optionalTimeArg, startOf } from '../dates.ts';
import { PULSE_DIR } from '../paths.ts';
import { selectSeries } from '../selection.ts';

interface ReportFlags {
  series?: string;
  model?: string;
  from?: string;
  to?: string;
  out?: string;
  png?: string;
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'write a self-contained HTML report (charts and metrics) of one series; optionally a PNG of its main chart',
    )
    .option('--series <name>', 'series to report (default: the first by name)')
    .option('--model <version>', 'model version (default: the one with the newest forecasts)')
    .option(
      '--from <time>',
      'first hour: a date (its first local hour) or an ISO time (default: 14 days before --to)',
    )
    .option(
      '--to <time>',
      'last hour: a date (its last local hour) or an ISO time (default: the newest actual)',
    )
    .option('--out <file>', 'HTML file to write (default: .pulse/report.html in the project)')
    .option('--png <file>', 'also write the main chart as a PNG (needs Chromium)')
    .action(async (flags: ReportFlags) => {
      const fromArg = optionalTimeArg('from', flags.from);
      const toArg = optionalTimeArg('to', flags.to);
      const file = await withDatabase(async ({ sql }) => {
        const stores = createPostgresStores(sql);
        const { series } = await selectSeries(stores, flags.series);
        if (flags.series !== undefined && series.length !== 1)
          throw new InputError(`--series names one series to report, got "${flags.series}"`);
        if (series.length === 0)
          throw new InputError('the database has no series yet: import actuals with "pulse import FILE"');
        // Without --series: the first by name that has actuals (an emptied series has nothing to show).
        const spans = await stores.series.actualsSpan(series.map((s) => s.id));
        const first = [...series].sort((a, b) => a.name.localeCompare(b.name)).find((s) => spans.has(s.id));
        if (!first)
          throw new InputError(
            `${flags.series !== undefined ? `series "${flags.series}" has` : 'no series has'} no actuals yet: import them with "pulse import FILE"`,
          );
        const from = fromArg && startOf(fromArg, first.timezone);
        const to = toArg && endOf(toArg, first.timezone);
        if (from !== undefined && to !== undefined && to < from)
          throw new InputError(`--to ${flags.to} is before --from ${flags.from}`);
        return writeReport(sql, {
          series: first.name,
          model: flags.model,
          from,
          to,
          out: flags.out ?? join(PULSE_DIR, 'report.html'),
        });
      });
      const png = flags.png ? await writeReportPng(file, flags.png) : null;
      emit({ report: file, png }, `report: ${file}` + (png ? `\nchart: ${png}` : ''));
    });
}
