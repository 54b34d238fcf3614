import { join } from 'node:path';
import type { Command } from 'commander';
import { writeReport, writeReportPng } from '../../adapters/report/index.ts';
import { HOUR_MS } from '../../core/time.ts';
import { parseTimeOption, say, withDatabase } from '../context.ts';
import { PULSE_DIR } from '../paths.ts';

interface ReportFlags {
  series?: string;
  model?: string;
  from?: string;
  to?: string;
  out?: string;
  png?: string;
}

/** A bare date as --to means the whole day: its last hour. */
const endOf = (value: string) =>
  parseTimeOption('to', value) + (/^\d{4}-\d{2}-\d{2}$/.test(value) ? 23 * HOUR_MS : 0);

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'write a self-contained HTML report (charts and metrics) of one series; optionally a PNG of its main chart',
    )
    .option('--series <name>', 'series to report (default: the first by name)')
    .option('--model <version>', 'model version (default: the one with the newest forecasts)')
    .option('--from <date>', 'first hour, 2025-01-31 or an ISO time (default: up to a year before --to)')
    .option('--to <date>', 'last hour or day (default: the newest actual)')
    .option('--out <file>', 'HTML file to write (default: .pulse/report.html in the project)')
    .option('--png <file>', 'also write the main chart as a PNG (needs Chromium)')
    .action(async (flags: ReportFlags) => {
      const file = await withDatabase(({ sql }) =>
        writeReport(sql, {
          series: flags.series,
          model: flags.model,
          from: flags.from === undefined ? undefined : parseTimeOption('from', flags.from),
          to: flags.to === undefined ? undefined : endOf(flags.to),
          out: flags.out ?? join(PULSE_DIR, 'report.html'),
        }),
      );
      say(`report: ${file}`);
      if (flags.png) say(`chart: ${await writeReportPng(file, flags.png)}`);
    });
}
