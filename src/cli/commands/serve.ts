import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { SCHEDULE_MINUTES } from '../../core/schedule.ts';
import { PostgresHolidaysStore } from '../../adapters/postgres/holidays-store.ts';
import { applySeriesConfig } from '../../adapters/postgres/series-config-repository.ts';
import { readSeriesConfigFile } from '../../adapters/series-config-file.ts';
import { SERIES_CONFIG_FILE } from '../../core/series-config.ts';
import { note, withDatabase } from '../context.ts';
import { openHandlers, scheduledEvent } from '../handlers.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      `run ingest (minute ${SCHEDULE_MINUTES.ingest}), forecast (minute ${SCHEDULE_MINUTES.forecast}) and evaluate (minute ${SCHEDULE_MINUTES.evaluate}) every hour, without AWS`,
    )
    .option(
      '--config <file>',
      `the series configuration, applied to the local database first as the migrate function does in AWS (default ./${SERIES_CONFIG_FILE} when present)`,
    )
    .action(async (options: { config?: string }) => {
      const file = options.config ?? (existsSync(SERIES_CONFIG_FILE) ? SERIES_CONFIG_FILE : undefined);
      // Validated before anything starts: a bad file names the entry and the field.
      const seriesConfig = file ? readSeriesConfigFile(file) : undefined;
      await withDatabase(async ({ url, sql }) => {
        let sourced = 0;
        if (seriesConfig) {
          const applied = await applySeriesConfig(sql, seriesConfig);
          await new PostgresHolidaysStore(sql).fill(Date.now());
          sourced = seriesConfig.series.filter((s) => s.active && s.source).length;
          note(
            `${file}: created ${applied.created.length}, updated ${applied.updated.length}, unchanged ${applied.unchanged.length}, deactivated ${applied.deactivated.length} series`,
          );
        }
        const handlers = openHandlers(url, { verbose: true });
        const ingest = handlers.runtime.config.ingest.source || sourced > 0 ? handlers.ingest : null;
        if (!ingest)
          note(
            'no series has a source (pulse.config.json) and INGEST_SOURCE is not set: ingest is skipped (import actuals with "pulse import")',
          );
        note(
          `serving: ingest :0${SCHEDULE_MINUTES.ingest}, forecast :0${SCHEDULE_MINUTES.forecast}, evaluate :${SCHEDULE_MINUTES.evaluate} — Ctrl-C to stop`,
        );
        const jobs: Record<number, ((event: unknown) => Promise<unknown>) | null> = {
          [SCHEDULE_MINUTES.ingest]: ingest,
          [SCHEDULE_MINUTES.forecast]: handlers.forecast,
          [SCHEDULE_MINUTES.evaluate]: handlers.evaluate,
        };
        let stopping = false;
        process.once('SIGINT', () => (stopping = true));
        process.once('SIGTERM', () => (stopping = true));
        while (!stopping) {
          const now = Date.now();
          const nextMinute = Math.ceil((now + 1) / 60_000) * 60_000;
          await new Promise((r) => setTimeout(r, Math.min(nextMinute - now, 1_000)));
          if (Date.now() < nextMinute || stopping) continue;
          const job = jobs[new Date(nextMinute).getUTCMinutes()];
          if (!job) continue;
          try {
            const result = await job(scheduledEvent(nextMinute));
            note(`${new Date(nextMinute).toISOString()} ${JSON.stringify(result)}`);
          } catch (error) {
            note(`${new Date(nextMinute).toISOString()} failed: ${(error as Error).message}`); // next tick retries
          }
        }
        await handlers.close();
      });
    });
}
