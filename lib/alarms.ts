import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData, type IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from './pulse-function.ts';
import { DEFAULT_WINDOW_CHECKS } from '../src/core/validation.ts';

export interface PulseAlarmsProps {
  /** The scheduled functions, by name; each gets an errors alarm. */
  readonly functions: Readonly<Record<string, IFunction | undefined>>;
  /** The queue of runs that failed all retries. */
  readonly failedRuns: IQueue;
  /** Subscribed to the alarm topic when given. @default no subscription */
  readonly email?: string;
  /** Alarm when the newest actual of any series is older than this. @default 6 */
  readonly staleAfterHours?: number;
  /** Alarm when the worst series' rolling 24 h MAPE exceeds this percentage. @default 5 */
  readonly mapeThresholdPercent?: number;
  /** Alarm when the share of fallback forecasts in a run exceeds this percentage. @default 20 */
  readonly fallbackRateThresholdPercent?: number;
}

/** The handlers publish these with this single dimension (Powertools metrics, service=pulse). */
function pulseMetric(metricName: string, statistic: string, period = Duration.hours(1)): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: 'pulse' },
    statistic,
    period,
  });
}

/** What pages the operator, and the topic it goes to. */
export class PulseAlarms extends Construct {
  public readonly topic: Topic;
  public readonly alarms: Record<string, Alarm> = {};

  constructor(scope: Construct, id: string, props: PulseAlarmsProps) {
    super(scope, id);
    // A customer-managed key: CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key.
    const key = new Key(this, 'TopicKey', {
      enableKeyRotation: true,
      description: 'Pulse alarm topic encryption',
    });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new Topic(this, 'Topic', { displayName: 'Pulse alarms', masterKey: key, enforceSSL: true });
    if (props.email) this.topic.addSubscription(new EmailSubscription(props.email));

    for (const [name, fn] of Object.entries(props.functions)) {
      if (!fn) continue;
      this.add(`${name}Errors`, {
        description: `The ${name} function failed (each failed attempt counts, retries included)`,
        metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }
    this.add('FailedRuns', {
      description: 'A scheduled run failed all retries or expired; its event is in the failed-runs queue',
      metric: props.failedRuns.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.add('NoForecastRun', {
      description: 'No successful forecast run in the last 2 hours (missing data counts as none)',
      metric: pulseMetric('ForecastRunSuccess', 'Sum'),
      threshold: 1,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.BREACHING,
    });
    this.add('StaleData', {
      description: 'The newest actual of some series is older than the staleness limit',
      metric: pulseMetric('DataStalenessHours', 'Maximum'),
      threshold: props.staleAfterHours ?? DEFAULT_WINDOW_CHECKS.staleAfterHours,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING, // no run at all is NoForecastRun's job
    });
    this.add('HighMape', {
      description: 'Rolling 24 h MAPE of the worst series is above the threshold',
      metric: pulseMetric('RollingMape24h', 'Maximum'),
      threshold: props.mapeThresholdPercent ?? 5,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.add('HighFallbackRate', {
      description: 'The share of fallback forecasts is above the threshold in two consecutive hours',
      metric: pulseMetric('FallbackRate', 'Maximum'),
      threshold: props.fallbackRateThresholdPercent ?? 20,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }

  private add(
    name: string,
    props: {
      description: string;
      metric: Metric | ReturnType<IFunction['metricErrors']>;
      threshold: number;
      comparisonOperator: ComparisonOperator;
      treatMissingData: TreatMissingData;
      evaluationPeriods?: number;
      datapointsToAlarm?: number;
    },
  ): IAlarm {
    const alarm = new Alarm(this, name, {
      alarmDescription: props.description,
      metric: props.metric,
      threshold: props.threshold,
      evaluationPeriods: props.evaluationPeriods ?? 1,
      datapointsToAlarm: props.datapointsToAlarm ?? 1,
      comparisonOperator: props.comparisonOperator,
      treatMissingData: props.treatMissingData,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    alarm.addOkAction(new SnsAction(this.topic));
    this.alarms[name] = alarm;
    return alarm;
  }
}
