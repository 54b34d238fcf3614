import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { UNSET_CREDENTIALS_USERNAME } from '../src/core/series-config.ts';
import type { PulseDatabase } from './database.ts';
import type { ModelLayer, OnnxRuntimeLayer } from './layers.ts';
import type { PulseNetwork } from './network.ts';
import {
  DATABASE_TLS_ENVIRONMENT,
  METRICS_NAMESPACE,
  PulseFunction,
  RDS_CA_BUNDLE,
  type PulseFunctionProps,
} from './pulse-function.ts';
import { LAMBDA_MODEL_DIR } from '../src/adapters/config.ts';
import { SCHEDULE_MINUTES } from '../src/core/schedule.ts';
import { DEFAULT_WINDOW_CHECKS } from '../src/core/validation.ts';
import { DEFAULT_WEATHER_MAX_AGE_HOURS } from '../src/core/weather.ts';

/** When each function runs (UTC), at the minutes of src/core/schedule.ts. */
export const SCHEDULES = {
  ingest: `cron(${SCHEDULE_MINUTES.ingest} * * * ? *)`,
  forecast: `cron(${SCHEDULE_MINUTES.forecast} * * * ? *)`,
  evaluate: `cron(${SCHEDULE_MINUTES.evaluate} * * * ? *)`,
} as const;

/** Where the runtime finds the model layer's files. */
export const MODEL_DIR = LAMBDA_MODEL_DIR;

/** Retries of a failed asynchronous invoke before the event goes to the failed-runs queue. */
export const ASYNC_RETRY_ATTEMPTS = 2;
/** An event older than this (for example throttled behind a long backfill) is given up on, never dropped. */
export const MAX_EVENT_AGE = Duration.hours(1);

export interface ScheduledFunctionsProps {
  readonly network: PulseNetwork;
  readonly database: PulseDatabase;
  readonly onnxRuntime: OnnxRuntimeLayer;
  readonly models: ModelLayer;
  /** Newest actual older than this makes the forecast fall back (and the staleness alarm fire). @default 6 */
  readonly staleAfterHours?: number;
  /** @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Existing secret with the ingest source's credentials (EPİAŞ: `{"username","password"}`). Which series
   * are ingested from which source is the series configuration's business (pulse.config.json).
   * @default a new secret holding a placeholder that the operator replaces (see docs/deploy.md); until
   * then the ingest function reports "not configured" instead of failing
   */
  readonly ingestSecret?: ISecret;
  /** Keep log groups and the failed-runs queue when the stack is deleted. @default false */
  readonly production?: boolean;
  /**
   * Concurrent executions reserved (and capped) for each scheduled function, e.g. 1. Not needed for
   * correctness: a run takes an advisory lock and writes by key, so a duplicate run changes nothing.
   * Each reservation lowers the account's unreserved pool, which Lambda keeps at 10 or more, so new
   * accounts (quota 10) cannot reserve any. @default no reservation
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Memory of the forecast function, MB (1,024–10,240). It bounds the distinct per-series models one run
   * can hold (modelsThatFit in src/adapters/config.ts: 32 at 1,024 MB, 96 at 2,048); series assigned a
   * model beyond them get the default model, labelled. @default 1024
   */
  readonly forecastMemoryMb?: number;
  /** Weather forecasts for weather models (docs/deploy.md, "Weather"). @default none fetched */
  readonly weather?: WeatherProps;
}

/** Where the ingest function gets weather forecasts from (src/adapters/sources/open-meteo.ts). */
export interface WeatherProps {
  /** `open-meteo` fetches forecasts for every configured location before the actuals. @default 'none' */
  readonly source?: 'open-meteo' | 'none';
  /** Forecast endpoint, e.g. the commercial tier's. @default Open-Meteo's free endpoint (non-commercial use) */
  readonly url?: string;
  /** Open-Meteo weather model, e.g. `ecmwf_ifs025`. @default Open-Meteo's best match */
  readonly model?: string;
  /** A series whose newest weather forecast is older than this is forecast by its calendar-only model. @default 12 */
  readonly maxAgeHours?: number;
  /**
   * Complete ARN of an existing secret `{"apiKey": "…"}` for the commercial tier.
   * @default with source open-meteo, a new secret with an empty key (free tier) that the operator fills in
   */
  readonly apiKeySecretArn?: string;
}

/** Ingest, forecast and evaluate, their schedules, and the queue that keeps every failed run. */
export class ScheduledFunctions extends Construct {
  public readonly forecast: NodejsFunction;
  public readonly evaluate: NodejsFunction;
  /** Absent when the network has no internet egress (egress 'endpoints'). */
  public readonly ingest?: NodejsFunction;
  public readonly ingestSecret?: ISecret;
  /** The weather API key's secret: present when the ingest function fetches weather. */
  public readonly weatherSecret?: ISecret;
  /** Events that failed all retries or expired: one message per lost run, kept 14 days. */
  public readonly failedRuns: Queue;
  public readonly rules: Record<string, Rule> = {};
  /** What every function that connects to the database gets: its environment (database, TLS, Powertools). */
  public readonly databaseEnvironment: Record<string, string>;
  /** Where those functions run: the app subnets with the functions' security group. */
  public readonly vpcPlacement: NonNullable<PulseFunctionProps['vpc']>;

  constructor(scope: Construct, id: string, props: ScheduledFunctionsProps) {
    super(scope, id);
    const { network, database } = props;
    const retain = props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.failedRuns = new Queue(this, 'FailedRuns', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: retain,
    });
    Validations.of(this.failedRuns).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter destination of the scheduled functions; a queue behind it would never be read.',
    });

    const common = {
      DATABASE_SECRET_ARN: database.appSecret.secretArn,
      DATABASE_HOST: database.host,
      DATABASE_PORT: database.port,
      DATABASE_NAME: database.databaseName,
      ...DATABASE_TLS_ENVIRONMENT,
      STALE_AFTER_HOURS: String(props.staleAfterHours ?? DEFAULT_WINDOW_CHECKS.staleAfterHours),
      POWERTOOLS_SERVICE_NAME: 'pulse',
      POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      // The forecast degrades weather models on it; ingest and evaluate read it harmlessly.
      WEATHER_MAX_AGE_HOURS: String(props.weather?.maxAgeHours ?? DEFAULT_WEATHER_MAX_AGE_HOURS),
    };
    this.databaseEnvironment = common;
    this.vpcPlacement = {
      vpc: network.vpc,
      subnets: network.functionSubnets,
      securityGroup: network.functionsSecurityGroup,
    };
    const base = {
      vpc: this.vpcPlacement,
      secrets: [database.appSecret],
      publishesMetrics: true,
      logRetention: props.logRetention,
      logRemovalPolicy: retain,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      bundledFiles: [RDS_CA_BUNDLE],
    };

    this.forecast = new PulseFunction(this, 'Forecast', {
      ...base,
      entry: 'functions/forecast/index.ts',
      description: 'Pulse: forecast every active series (hourly) or backfill a range (manual invoke)',
      memorySize: forecastMemory(props.forecastMemoryMb),
      timeout: Duration.minutes(10),
      environment: { ...common, MODEL_DIR },
      layers: [props.onnxRuntime.layer, props.models.layer],
      layerModules: ['onnxruntime-node'],
    }).fn;

    this.evaluate = new PulseFunction(this, 'Evaluate', {
      ...base,
      entry: 'functions/evaluate/index.ts',
      description: 'Pulse: score matured predictions and refresh the error rollups',
      memorySize: 512,
      timeout: Duration.minutes(5),
      environment: common,
    }).fn;

    if (network.egress === 'nat') {
      this.ingestSecret =
        props.ingestSecret ??
        thirdPartySecret(this, 'IngestCredentials', {
          description:
            'Pulse ingest source credentials (EPİAŞ Transparency Platform username and password); set after deploy',
          template: { username: UNSET_CREDENTIALS_USERNAME },
          generatedKey: 'password',
          removalPolicy: retain,
          whyNotRotated:
            "Credentials of a third-party account (EPİAŞ); they can only be changed on the provider's site, so Secrets Manager cannot rotate them.",
        });
      const weather = props.weather ?? {};
      let weatherEnvironment: Record<string, string> = {};
      if (weather.source === 'open-meteo') {
        this.weatherSecret =
          (weather.apiKeySecretArn
            ? Secret.fromSecretCompleteArn(this, 'WeatherApiKeyImported', weather.apiKeySecretArn)
            : undefined) ??
          thirdPartySecret(this, 'WeatherApiKey', {
            description:
              'Pulse weather API key ({"apiKey": "…"}, Open-Meteo commercial tier); empty = free tier; set after deploy',
            // An empty key makes the ingest function call without one; the generated field is never read.
            template: { apiKey: '' },
            generatedKey: 'unused',
            removalPolicy: retain,
            whyNotRotated:
              "A third-party API key (Open-Meteo); it is issued on the provider's site, so Secrets Manager cannot rotate it.",
          });
        // Only the secret's ARN is in the environment; the key is read at run time and never logged.
        weatherEnvironment = {
          WEATHER_SOURCE: 'open-meteo',
          WEATHER_SECRET_ARN: this.weatherSecret.secretArn,
          ...(weather.url ? { WEATHER_URL: weather.url } : {}),
          ...(weather.model ? { WEATHER_MODEL: weather.model } : {}),
        };
      }
      this.ingest = new PulseFunction(this, 'Ingest', {
        ...base,
        entry: 'functions/ingest/index.ts',
        description: 'Pulse: pull new and revised actuals of every configured series from its source',
        memorySize: 256,
        timeout: Duration.minutes(5),
        secrets: [database.appSecret, this.ingestSecret, ...(this.weatherSecret ? [this.weatherSecret] : [])],
        // No INGEST_SOURCE: the sources come from the series configuration that migrate stored.
        environment: { ...common, INGEST_SECRET_ARN: this.ingestSecret.secretArn, ...weatherEnvironment },
      }).fn;
    }

    const scheduled: Array<[keyof typeof SCHEDULES, NodejsFunction | undefined]> = [
      ['ingest', this.ingest],
      ['forecast', this.forecast],
      ['evaluate', this.evaluate],
    ];
    for (const [name, fn] of scheduled) {
      if (!fn) continue;
      // Lambda retries a failed run; what still fails, or waits too long, lands in the queue.
      fn.configureAsyncInvoke({
        retryAttempts: ASYNC_RETRY_ATTEMPTS,
        maxEventAge: MAX_EVENT_AGE,
        onFailure: new SqsDestination(this.failedRuns),
      });
      // EventBridge retries delivery (throttling, service errors); undeliverable events land in the same queue.
      const rule = new Rule(this, `${capitalise(name)}Schedule`, {
        description: `Pulse ${name} schedule`,
        schedule: Schedule.expression(SCHEDULES[name]),
      });
      rule.addTarget(
        new LambdaFunction(fn, {
          retryAttempts: ASYNC_RETRY_ATTEMPTS,
          maxEventAge: MAX_EVENT_AGE,
          deadLetterQueue: this.failedRuns,
        }),
      );
      this.rules[name] = rule;
    }
  }
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** A secret for a third party's credential, which only the provider can change (so no rotation). */
function thirdPartySecret(
  scope: Construct,
  id: string,
  props: {
    description: string;
    template: Record<string, string>;
    generatedKey: string;
    removalPolicy: RemovalPolicy;
    whyNotRotated: string;
  },
): Secret {
  const secret = new Secret(scope, id, {
    description: props.description,
    generateSecretString: {
      secretStringTemplate: JSON.stringify(props.template),
      generateStringKey: props.generatedKey,
    },
    removalPolicy: props.removalPolicy,
  });
  Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: props.whyNotRotated });
  return secret;
}

/** The forecast function's memory: Lambda's range, and at least the 1,024 MB the default model was sized for. */
function forecastMemory(mb: number | undefined): number {
  if (mb === undefined) return 1024;
  if (!Number.isInteger(mb) || mb < 1024 || mb > 10_240) {
    throw new Error(`pulse:forecastMemoryMb must be a whole number of MB from 1024 to 10240, got ${mb}`);
  }
  return mb;
}
