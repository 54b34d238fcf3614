import { z } from 'zod';
import { InputError } from '../../core/errors.ts';
import { SERIES_NAME } from '../../core/series.ts';
import { hasValidIsoFields, HOUR_MS } from '../../core/time.ts';

const isoInstant = z
  .string({ error: 'must be an ISO 8601 time string such as 2025-01-01T00:00:00Z' })
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/, {
    error: 'must be an ISO 8601 time with Z or an offset, such as 2025-01-01T00:00:00Z',
  })
  .transform((v, ctx) => {
    const ms = Date.parse(v);
    if (!Number.isFinite(ms) || !hasValidIsoFields(v)) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is not a valid date` });
      return z.NEVER;
    }
    return ms;
  });

const hourStart = isoInstant.refine((ms) => ms % HOUR_MS === 0, {
  error: 'must be on the hour (minutes and seconds 0)',
});

const seriesList = z
  .array(z.string().regex(SERIES_NAME, { error: 'is not a valid series name' }))
  .min(1, { error: 'must name at least one series, or be left out for all' })
  .max(1000)
  .optional();

/** EventBridge's scheduled event: its `time` is the run's clock, so a redelivered event repeats the same run. */
const ScheduledEvent = z.object({
  source: z.literal('aws.events'),
  'detail-type': z.literal('Scheduled Event'),
  time: isoInstant,
});

const BackfillPayload = z
  .object({
    mode: z.literal('backfill'),
    from: hourStart,
    to: hourStart,
    series: seriesList,
  })
  .strict()
  .refine((p) => p.from <= p.to, { error: '"from" must not be after "to"', path: ['from'] });

const ForecastPayload = z
  .object({ mode: z.literal('forecast'), at: isoInstant.optional(), series: seriesList })
  .strict();

const EvaluatePayload = z
  .object({ mode: z.literal('evaluate'), since: isoInstant.optional(), at: isoInstant.optional() })
  .strict();

const IngestPayload = z.object({ mode: z.literal('ingest'), at: isoInstant.optional() }).strict();

export type ForecastCommand =
  | { kind: 'scheduled'; asOf: number; series?: undefined }
  | { kind: 'forecast'; asOf: number | undefined; series?: string[] }
  | { kind: 'backfill'; from: number; to: number; series?: string[] };

export type EvaluateCommand = {
  kind: 'evaluate';
  scheduled: boolean;
  now: number | undefined;
  since?: number;
};
export type IngestCommand = { kind: 'ingest'; scheduled: boolean; now: number | undefined };

function fail(what: string, error: z.ZodError): never {
  const problems = error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'payload'}: ${i.message}`);
  throw new InputError(`invalid ${what}: ${problems.join('; ')}`);
}

function isObject(event: unknown): event is Record<string, unknown> {
  return typeof event === 'object' && event !== null && !Array.isArray(event);
}

/** The event as an object, and the time of a schedule tick (undefined: a manual payload). */
function scheduledTime(what: string, event: unknown): { event: Record<string, unknown>; time?: number } {
  if (!isObject(event)) throw new InputError(`invalid ${what} event: payload: must be a JSON object`);
  if (event.source !== 'aws.events') return { event };
  const parsed = ScheduledEvent.safeParse(event);
  if (!parsed.success) fail('scheduled event', parsed.error);
  return { event, time: parsed.data.time };
}

function payload<T>(what: string, schema: z.ZodType<T>, event: unknown): T {
  const parsed = schema.safeParse(event);
  if (!parsed.success) fail(`${what} payload`, parsed.error);
  return parsed.data;
}

/** The forecast function's event: a schedule tick, a manual forecast, or a backfill. */
export function parseForecastEvent(input: unknown): ForecastCommand {
  const { event, time } = scheduledTime('forecast', input);
  if (time !== undefined) return { kind: 'scheduled', asOf: time };
  if (event.mode === 'backfill') {
    const p = payload('backfill', BackfillPayload, event);
    return { kind: 'backfill', from: p.from, to: p.to, series: p.series };
  }
  if (event.mode === 'forecast') {
    const p = payload('forecast', ForecastPayload, event);
    return { kind: 'forecast', asOf: p.at, series: p.series };
  }
  throw new InputError(
    `invalid forecast event: mode: expected "backfill" or "forecast" (or a scheduled event), got ${JSON.stringify(event.mode ?? null)}`,
  );
}

export function parseEvaluateEvent(input: unknown): EvaluateCommand {
  const { event, time } = scheduledTime('evaluate', input);
  if (time !== undefined) return { kind: 'evaluate', scheduled: true, now: time };
  const p = payload('evaluate', EvaluatePayload, event);
  return { kind: 'evaluate', scheduled: false, now: p.at, since: p.since };
}

export function parseIngestEvent(input: unknown): IngestCommand {
  const { event, time } = scheduledTime('ingest', input);
  if (time !== undefined) return { kind: 'ingest', scheduled: true, now: time };
  const p = payload('ingest', IngestPayload, event);
  return { kind: 'ingest', scheduled: false, now: p.at };
}
