import { Stack, type StackProps } from 'aws-cdk-lib';
import type { InstanceType } from 'aws-cdk-lib/aws-ec2';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Annotations, CfnOutput } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { PulseAlarms } from './alarms.ts';
import { PulseDatabase } from './database.ts';
import { PulseGrafana, type GrafanaAuthentication } from './grafana.ts';
import { ModelLayer, OnnxRuntimeLayer } from './layers.ts';
import { DatabaseMigrations } from './migrations.ts';
import { PulseNetwork, type Egress } from './network.ts';
import { PulseRetraining } from './retraining.ts';
import { ScheduledFunctions, type WeatherProps } from './scheduled-functions.ts';

export interface PulseStackProps extends StackProps {
  /** Deletion protection, snapshot on delete, Multi-AZ, retained logs. @default false */
  readonly production?: boolean;
  /** @default 'nat' */
  readonly egress?: Egress;
  /** @default db.t4g.micro (db.t4g.small in production) */
  readonly databaseInstanceType?: InstanceType;
  /** Email address subscribed to the alarm topic. @default none */
  readonly alarmEmail?: string;
  /** @default 6 */
  readonly staleAfterHours?: number;
  /** @default 5 */
  readonly mapeThresholdPercent?: number;
  /** @default 20 */
  readonly fallbackRateThresholdPercent?: number;
  /** @default a new secret, filled in after deploy */
  readonly ingestSecret?: ISecret;
  /** @default { provider: 'AWS_SSO' } */
  readonly grafanaAuthentication?: GrafanaAuthentication;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Reserved concurrency of each scheduled function (see ScheduledFunctionsProps). @default none */
  readonly reservedConcurrentExecutions?: number;
  /** Memory of the forecast function, MB (see ScheduledFunctionsProps). @default 1024 */
  readonly forecastMemoryMb?: number;
  /** @default the repository's model-artifacts/ */
  readonly modelArtifactsDir?: string;
  /**
   * The series configuration file (see docs/deploy.md), validated at synth and applied by the migrate
   * function on every deploy. @default the repository's pulse.config.json
   */
  readonly seriesConfigFile?: string;
  /** Weather forecasts fetched by the ingest function. @default none */
  readonly weather?: WeatherProps;
  /** The scheduled retraining cycle (lib/retraining.ts). */
  readonly retraining?: {
    /** EventBridge schedule expression, or null for none. @default day 1 of each month, 03:37 UTC */
    readonly schedule?: string | null;
    /** Series trained at the same time. @default 4 */
    readonly maxConcurrency?: number;
    /** SageMaker instance type. @default ml.c5.xlarge */
    readonly instanceType?: string;
    /** The recipe, JSON fields over the default recipe. @default the default recipe */
    readonly recipe?: string;
  };
}

/** Everything Pulse needs in one account and region. */
export class PulseStack extends Stack {
  public readonly network: PulseNetwork;
  public readonly database: PulseDatabase;
  public readonly functions: ScheduledFunctions;
  public readonly alarms: PulseAlarms;
  public readonly grafana: PulseGrafana;
  public readonly migrations: DatabaseMigrations;
  public readonly retraining: PulseRetraining;

  constructor(scope: Construct, id: string, props: PulseStackProps = {}) {
    super(scope, id, props);
    const production = props.production ?? false;

    this.network = new PulseNetwork(this, 'Network', { egress: props.egress });
    this.database = new PulseDatabase(this, 'Database', {
      vpc: this.network.vpc,
      subnets: this.network.databaseSubnets,
      clients: [this.network.functionsSecurityGroup, this.network.grafanaSecurityGroup],
      rotationSecurityGroup: this.network.rotationSecurityGroup,
      rotationSubnets: this.network.functionSubnets,
      production,
      instanceType: props.databaseInstanceType,
    });
    this.migrations = new DatabaseMigrations(this, 'Migrations', {
      network: this.network,
      database: this.database,
      seriesConfigFile: props.seriesConfigFile,
    });
    // No rotation before migrate has created the login users and finished with the master password.
    for (const schedule of this.database.rotationSchedules)
      schedule.node.addDependency(this.migrations.trigger);

    const onnxRuntime = new OnnxRuntimeLayer(this, 'OnnxRuntime');
    const models = new ModelLayer(this, 'Models', { artifactsDir: props.modelArtifactsDir });
    this.functions = new ScheduledFunctions(this, 'Functions', {
      network: this.network,
      database: this.database,
      onnxRuntime,
      models,
      staleAfterHours: props.staleAfterHours,
      logRetention: props.logRetention,
      ingestSecret: props.ingestSecret,
      production,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      forecastMemoryMb: props.forecastMemoryMb,
      weather: props.weather,
    });
    const withWeather = this.migrations.seriesConfig.series.filter((s) => s.weather).map((s) => s.name);
    if (withWeather.length && !this.functions.weatherSecret) {
      Annotations.of(this).addWarningV2(
        'pulse:no-weather-source',
        `series ${withWeather.join(', ')} name weather locations, but no weather is fetched (context pulse:weatherSource=open-meteo, docs/deploy.md); their weather models will be served by their calendar-only models`,
      );
    }
    // The schedules start only once the schema and the login users exist.
    this.functions.node.addDependency(this.migrations.trigger);

    this.alarms = new PulseAlarms(this, 'Alarms', {
      functions: {
        Ingest: this.functions.ingest,
        Forecast: this.functions.forecast,
        Evaluate: this.functions.evaluate,
      },
      failedRuns: this.functions.failedRuns,
      email: props.alarmEmail,
      staleAfterHours: props.staleAfterHours,
      mapeThresholdPercent: props.mapeThresholdPercent,
      fallbackRateThresholdPercent: props.fallbackRateThresholdPercent,
    });

    this.retraining = new PulseRetraining(this, 'Retraining', {
      network: this.functions,
      databaseEnvironment: this.functions.databaseEnvironment,
      databaseSecrets: [this.database.appSecret],
      onnxRuntime,
      models,
      forecast: this.functions.forecast,
      alarmTopic: this.alarms.topic,
      production,
      logRetention: props.logRetention,
      schedule: props.retraining?.schedule,
      maxConcurrency: props.retraining?.maxConcurrency,
      instanceType: props.retraining?.instanceType,
      recipe: props.retraining?.recipe,
    });
    this.retraining.node.addDependency(this.migrations.trigger);

    this.grafana = new PulseGrafana(this, 'Grafana', {
      network: this.network,
      database: this.database,
      authentication: props.grafanaAuthentication,
    });
    this.grafana.provisioning.node.addDependency(this.migrations.trigger);

    new CfnOutput(this, 'ForecastFunctionName', { value: this.functions.forecast.functionName });
    // Invoke with {"mode":"series"} to list the series, whether they are active, their newest actual and forecast.
    new CfnOutput(this, 'MigrateFunctionName', { value: this.migrations.fn.functionName });
    if (this.functions.ingest)
      new CfnOutput(this, 'IngestFunctionName', { value: this.functions.ingest.functionName });
    new CfnOutput(this, 'GrafanaUrl', { value: `https://${this.grafana.workspace.attrEndpoint}` });
    new CfnOutput(this, 'GrafanaWorkspaceId', { value: this.grafana.workspace.attrId });
    new CfnOutput(this, 'FailedRunsQueueUrl', { value: this.functions.failedRuns.queueUrl });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
    new CfnOutput(this, 'ModelBucketName', { value: this.retraining.bucket.bucketName });
    // Start a cycle by hand: aws stepfunctions start-execution --state-machine-arn … --input '{"series":null}'
    new CfnOutput(this, 'RetrainingStateMachineArn', { value: this.retraining.stateMachine.stateMachineArn });
    if (this.functions.ingestSecret) {
      new CfnOutput(this, 'IngestSecretArn', { value: this.functions.ingestSecret.secretArn });
    }
    if (this.functions.weatherSecret) {
      new CfnOutput(this, 'WeatherSecretArn', { value: this.functions.weatherSecret.secretArn });
    }
  }
}
