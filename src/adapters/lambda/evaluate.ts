import { runEvaluation, type EvaluationSummary } from '../../core/use-cases/run-evaluation.ts';
import { MetricUnit } from '../observability.ts';
import type { Runtime } from '../runtime.ts';
import { parseEvaluateEvent } from './events.ts';
import { withFailureLogging, type Handler } from './handler.ts';

/** What the evaluate handler returns: the summary without the rollup rows. */
export type EvaluateHandlerResult = Omit<EvaluationSummary, 'rollups'>;

/** Scores matured forecasts (the schedule at SCHEDULE_MINUTES.evaluate, or manual) and refreshes the rollups. */
export function createEvaluateHandler(runtime: Runtime): Handler<unknown, EvaluateHandlerResult> {
  const { logger, metrics } = runtime;
  return withFailureLogging('evaluate', logger, async (event) => {
    const command = parseEvaluateEvent(event);
    return runtime.withStores(async (stores) => {
      const summary = await runEvaluation(stores, {
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
  });
}
