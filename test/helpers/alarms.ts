/* eslint-disable @typescript-eslint/no-explicit-any -- CloudFormation JSON is untyped. */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { PulseAlarms } from '../../lib/alarms.ts';

/** One alarm of the stack, as CloudWatch evaluates it. */
export interface AlarmSpec {
  /** The construct id: IngestErrors, ForecastErrors, EvaluateErrors, FailedRuns, NoForecastRun, ... */
  readonly name: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly statistic: 'Sum' | 'Maximum';
  readonly threshold: number;
  readonly comparison: string;
  readonly treatMissingData: string;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
}

/** The alarms exactly as lib/alarms.ts defines them (synthesized alone: no bundling). */
export function pulseAlarmSpecs(): AlarmSpec[] {
  const app = new App();
  const stack = new Stack(app, 'AlarmsOnly');
  const fn = (name: string) => LambdaFunction.fromFunctionName(stack, name, `pulse-${name.toLowerCase()}`);
  new PulseAlarms(stack, 'Alarms', {
    functions: { Ingest: fn('Ingest'), Forecast: fn('Forecast'), Evaluate: fn('Evaluate') },
    failedRuns: Queue.fromQueueArn(stack, 'FailedRuns', 'arn:aws:sqs:eu-central-1:000000000000:failed'),
  });
  return Object.entries(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')).map(
    ([id, resource]) => {
      const p = resource.Properties as Record<string, any>;
      return {
        name: /^Alarms([A-Za-z]+?)[0-9A-F]{8}$/.exec(id)![1]!,
        namespace: p.Namespace,
        metricName: p.MetricName,
        statistic: p.Statistic,
        threshold: p.Threshold,
        comparison: p.ComparisonOperator,
        treatMissingData: p.TreatMissingData,
        evaluationPeriods: p.EvaluationPeriods,
        datapointsToAlarm: p.DatapointsToAlarm ?? p.EvaluationPeriods,
      };
    },
  );
}

/** What the functions did in one hour: the values they published per metric, and their failed invokes. */
export interface HourObserved {
  readonly metrics: Readonly<Record<string, readonly number[]>>;
  /** Failed invocations per function: ingest, forecast, evaluate. */
  readonly errors?: Readonly<Record<string, number>>;
  /** Messages in the failed-runs queue. @default 0 */
  readonly failedRuns?: number;
}

function breaches(value: number, spec: AlarmSpec): boolean {
  switch (spec.comparison) {
    case 'GreaterThanThreshold':
      return value > spec.threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= spec.threshold;
    case 'LessThanThreshold':
      return value < spec.threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= spec.threshold;
    default:
      throw new Error(`unknown comparison ${spec.comparison}`);
  }
}

/** The hour's datapoint of an alarm's metric, or undefined when nothing was published. */
function datapoint(spec: AlarmSpec, hour: HourObserved): number | undefined {
  if (spec.namespace === 'AWS/Lambda') {
    const fn = spec.name.replace(/Errors$/, '').toLowerCase();
    return hour.errors?.[fn] ?? 0; // Lambda publishes Errors (0) for every invoked function
  }
  if (spec.namespace === 'AWS/SQS') return hour.failedRuns ?? 0;
  const values = hour.metrics[spec.metricName];
  if (!values?.length) return undefined;
  return spec.statistic === 'Sum' ? values.reduce((a, b) => a + b, 0) : Math.max(...values);
}

/**
 * Each alarm's state after these hours (oldest first), evaluated as CloudWatch does over its last
 * `evaluationPeriods` hours: ALARM when `datapointsToAlarm` of them breach, missing data treated as the
 * alarm says (breaching or not).
 */
export function alarmStates(
  specs: readonly AlarmSpec[],
  hours: readonly HourObserved[],
): Record<string, 'OK' | 'ALARM'> {
  const out: Record<string, 'OK' | 'ALARM'> = {};
  for (const spec of specs) {
    const window = hours.slice(-spec.evaluationPeriods);
    let breaching = 0;
    for (const hour of window) {
      const value = datapoint(spec, hour);
      if (value === undefined) {
        if (spec.treatMissingData === 'breaching') breaching++;
      } else if (breaches(value, spec)) breaching++;
    }
    out[spec.name] = breaching >= spec.datapointsToAlarm ? 'ALARM' : 'OK';
  }
  return out;
}

/** CloudWatch embedded-metric-format documents (as Powertools prints them) → values per metric name. */
export function metricsOf(lines: readonly string[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const line of lines.flatMap((l) => l.split('\n'))) {
    if (!line.includes('"_aws"')) continue;
    const doc = JSON.parse(line) as {
      _aws: { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> };
    } & Record<string, unknown>;
    for (const directive of doc._aws.CloudWatchMetrics) {
      for (const { Name } of directive.Metrics) {
        const value = doc[Name];
        for (const v of Array.isArray(value) ? value : [value]) (out[Name] ??= []).push(Number(v));
      }
    }
  }
  return out;
}
