import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export { MetricUnit };

/** What the handlers publish metrics through: Powertools' Metrics in Lambda, nothing in the CLI. */
export interface MetricsSink {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): void;
  publishStoredMetrics(): void;
}

/** A process's logger and metrics; the service name is the dimension the alarms use. */
export interface Observability {
  readonly logger: Logger;
  readonly metrics: MetricsSink;
}

export interface ObservabilityOptions {
  readonly serviceName: string;
  readonly metricsNamespace: string;
  /** Unset: Powertools' own variables decide (POWERTOOLS_LOG_LEVEL in Lambda). */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** No CloudWatch (the CLI, tests): metrics are dropped instead of printed as EMF lines. */
  readonly metricsDisabled?: boolean;
  /**
   * Where the EMF lines go instead of stdout (tests read them here). With it, every published batch is
   * handed over whatever Powertools' own variables (POWERTOOLS_DEV, POWERTOOLS_METRICS_DISABLED) say;
   * unset (Lambda), Powertools prints them and its variables decide.
   */
  readonly emfLines?: (line: string) => void;
}

const noMetrics: MetricsSink = { addMetric: () => undefined, publishStoredMetrics: () => undefined };

export function createObservability(options: ObservabilityOptions): Observability {
  return {
    logger: new Logger({
      serviceName: options.serviceName,
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    }),
    metrics: options.metricsDisabled ? noMetrics : metricsSink(options),
  };
}

function metricsSink(options: ObservabilityOptions): MetricsSink {
  const metrics = new Metrics({ namespace: options.metricsNamespace, serviceName: options.serviceName });
  const write = options.emfLines;
  if (!write) return metrics;
  return {
    addMetric: (name, unit, value) => metrics.addMetric(name, unit, value),
    publishStoredMetrics: () => {
      // The document publishStoredMetrics prints (Pulse adds no dimensions or metadata beyond the service).
      if (metrics.hasStoredMetrics()) write(JSON.stringify(metrics.serializeMetrics()));
      metrics.clearMetrics();
    },
  };
}
