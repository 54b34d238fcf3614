/**
 * Minutes past the hour (UTC) at which each job runs, in AWS (EventBridge rules) and in `pulse serve`.
 * Ingest first, so the forecast at minute 7 sees the newest actuals; evaluate after both.
 */
export const SCHEDULE_MINUTES = { ingest: 2, forecast: 7, evaluate: 17 } as const;

export type ScheduledJob = keyof typeof SCHEDULE_MINUTES;
