import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { SCHEDULE_MINUTES } from '../../core/schedule.ts';
import { PostgresHolidaysStore } from '../../adapters/postgres/holidays-store.ts';
import { applySeriesConfig } from '../../adapters/postgres/series-config-repository.ts';
import { readSeriesConfigFile } from '../../adapters/series-config-file.ts';
import { SERIES_CONFIG_FILE } from '../../core/series-config.ts';
import { openModelStore } from '../../adapters/model-store/open.ts';
import { AUTO_RECIPE_SEARCH } from '../../adapters/training/auto-recipe.ts';
import { DEFAULT_RECIPE } from '../../adapters/training/recipe.ts';
import {
  isRetrainingMinute,
  RETRAIN_SCHEDULE,
  runRetrainingCycle,
} from '../../adapters/training/retraining-cycle.ts';
import { InputError } from '../../core/errors.ts';
import { emitLine, jsonOutput, note, withDatabase } from '../context.ts';
import { DEFAULT_LOCAL_STORE } from '../paths.ts';
import { openHandlers, scheduledEvent } from '../handlers.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      `run ingest (minute ${SCHEDULE_MINUTES.ingest}), forecast (minute ${SCHEDULE_MINUTES.forecast}) and evaluate (minute ${SCHEDULE_MINUTES.evaluate}) every hour, without AWS; with --json one JSON object per job run and line`,
    )
    .option(
      '--config <file>',
      `the series configuration, applied to the local database first as the migrate function does in AWS (default ./${SERIES_CONFIG_FILE} when present)`,
    )
    .option(
      '--retrain-day <n>',
      `day of the month on which the champion/challenger cycle runs (${RETRAIN_SCHEDULE.hourUtc}:${RETRAIN_SCHEDULE.minute} UTC; 0 = never)`,
      String(RETRAIN_SCHEDULE.dayOfMonth),
    )
    .action(async (options: { config?: string; retrainDay: string }) => {
      const retrainDay = Number(options.retrainDay);
      if (!Number.isInteger(retrainDay) || retrainDay < 0 || retrainDay > 28) {
        throw new InputError(`--retrain-day must be 0 (never) or a day 1–28, got "${options.retrainDay}"`);
      }
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
          `serving: ingest :0${SCHEDULE_MINUTES.ingest}, forecast :0${SCHEDULE_MINUTES.forecast}, evaluate :${SCHEDULE_MINUTES.evaluate}${retrainDay > 0 ? `, retraining on day ${retrainDay} of each month at 0${RETRAIN_SCHEDULE.hourUtc}:${RETRAIN_SCHEDULE.minute} UTC` : ''} — Ctrl-C to stop`,
        );
        const jobs: Record<number, { name: string; run: (event: unknown) => Promise<unknown> } | null> = {
          [SCHEDULE_MINUTES.ingest]: ingest && { name: 'ingest', run: ingest },
          [SCHEDULE_MINUTES.forecast]: { name: 'forecast', run: handlers.forecast },
          [SCHEDULE_MINUTES.evaluate]: { name: 'evaluate', run: handlers.evaluate },
        };
        let stopping = false;
        let retraining: Promise<unknown> | null = null;
        process.once('SIGINT', () => (stopping = true));
        process.once('SIGTERM', () => (stopping = true));
        while (!stopping) {
          const now = Date.now();
          const nextMinute = Math.ceil((now + 1) / 60_000) * 60_000;
          await new Promise((r) => setTimeout(r, Math.min(nextMinute - now, 1_000)));
          if (Date.now() < nextMinute || stopping) continue;
          if (retrainDay > 0 && isRetrainingMinute(nextMinute, retrainDay) && !retraining) {
            // The same cycle as pulse retrain, with the local trainer, in the background: the hourly
            // jobs keep running while it trains. Its decisions are in the registry.
            const at = new Date(nextMinute).toISOString();
            retraining = runRetrainingCycle({
              sql,
              store: openModelStore(handlers.runtime.config.modelStore ?? DEFAULT_LOCAL_STORE),
              modelDir: handlers.runtime.config.modelDir,
              recipe: () => DEFAULT_RECIPE,
              search: AUTO_RECIPE_SEARCH,
              command: 'pulse serve (monthly retraining)',
              log: note,
              // Never on stdout: serve --json prints one JSON object per job run there.
              trainer: { onLine: note },
            })
              .then((o) =>
                note(
                  `${at} retraining: ${o.filter((x) => x.promoted).length} of ${o.length} series promoted`,
                ),
              )
              .catch((error: unknown) => note(`${at} retraining failed: ${(error as Error).message}`))
              .finally(() => (retraining = null));
          }
          const job = jobs[new Date(nextMinute).getUTCMinutes()];
          if (!job) continue;
          const at = new Date(nextMinute).toISOString();
          try {
            const result = await job.run(scheduledEvent(nextMinute));
            if (jsonOutput()) emitLine(job.name, at, { result });
            else note(`${at} ${job.name} ${JSON.stringify(result)}`);
          } catch (error) {
            // The next tick retries.
            if (jsonOutput()) emitLine(job.name, at, { error });
            else note(`${at} ${job.name} failed: ${(error as Error).message}`);
          }
        }
        await retraining;
        await handlers.close();
      });
    });
}
