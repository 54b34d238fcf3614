import type { Context } from 'aws-lambda';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PostgresPulseStore } from '../../src/adapters/postgres/pulse-store.ts';
import { runEvaluation } from '../../src/core/use-cases/run-evaluation.ts';
import { loadConfig } from '../shared/config.ts';
import { withDatabase } from '../shared/database.ts';
import { parseEvaluateEvent } from '../shared/events.ts';
import { logger, metrics } from '../shared/observability.ts';

const config = loadConfig();

/** Scores matured forecasts (EventBridge `cron(17 * * * ? *)` or manual) and refreshes the rollups. */
export async function handler(event: unknown, context?: Context) {
  if (context) logger.addContext(context);
  const command = parseEvaluateEvent(event);
  return withDatabase(config, async (sql) => {
    const summary = await runEvaluation(new PostgresPulseStore(sql), {
      now: command.now ?? Date.now(),
      since: command.since,
      trigger: command.scheduled ? 'schedule' : 'manual',
    });
    const { rollups, ...counts } = summary;
    logger.info('evaluation finished', { ...counts, rollups: rollups.length });
    metrics.addMetric('EvaluationsScored', MetricUnit.Count, summary.scored + summary.rescored);
    if (summary.worstRollingMape24h !== null) {
      metrics.addMetric('RollingMape24h', MetricUnit.Percent, summary.worstRollingMape24h);
    }
    metrics.publishStoredMetrics();
    return counts;
  });
}
