import type { Command } from 'commander';
import { SCHEDULE_MINUTES } from '../../core/schedule.ts';
import { note, withDatabase } from '../context.ts';
import { openHandlers, scheduledEvent } from '../handlers.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      `run ingest (minute ${SCHEDULE_MINUTES.ingest}), forecast (minute ${SCHEDULE_MINUTES.forecast}) and evaluate (minute ${SCHEDULE_MINUTES.evaluate}) every hour, without AWS`,
    )
    .action(async () => {
      await withDatabase(async ({ url }) => {
        const handlers = openHandlers(url, { verbose: true });
        const ingest = handlers.ingest;
        if (!ingest) note('INGEST_SOURCE is not set: ingest is skipped (import actuals with "pulse import")');
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
