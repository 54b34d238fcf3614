import { z } from 'zod';
import { ConfigurationError } from '../core/errors.ts';
import { DEFAULT_INGEST_TRAILING_HOURS } from '../core/use-cases/run-ingest.ts';
import { DEFAULT_WINDOW_CHECKS } from '../core/validation.ts';
import type { SslMode } from './postgres/client.ts';
import { parseSourceConfig, type SourceConfig } from './sources/config.ts';
import { parseHttpWeatherConfig, type WeatherSourceSettings } from './sources/weather-config.ts';
import { DEFAULT_WEATHER_MAX_AGE_HOURS } from '../core/weather.ts';

/** Where a Lambda function finds its models (the model layer), and a local process. */
export const LAMBDA_MODEL_DIR = '/opt/models';
export const LOCAL_MODEL_DIR = 'model-artifacts';
export const DEFAULT_INGEST_SERIES = 'turkey';
export const DEFAULT_SERVICE_NAME = 'pulse';
export const DEFAULT_METRICS_NAMESPACE = 'Pulse';
/** The port of the CLI's embedded PostgreSQL. */
export const DEFAULT_LOCAL_PORT = 54329;
/**
 * Memory of a Lambda process before its models (runtime, ONNX Runtime, a 10,000-series run's windows and
 * forecasts), and what one loaded model adds: the shipped 4-member model measured 13.4 MB per session
 * (npm run bench, section modelCache), with room for larger ones.
 */
const PROCESS_BASE_MB = 512;
const MODEL_SESSION_MB = 16;

/** The models a process of `memoryMb` can hold without running out of memory (at least one: the default). */
export function modelsThatFit(memoryMb: number): number {
  return Math.max(1, Math.floor((memoryMb - PROCESS_BASE_MB) / MODEL_SESSION_MB));
}

const optionalNumber = <T extends number | undefined>(fallback: T) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback as number | T;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) {
        ctx.addIssue({ code: 'custom', message: `must be a positive number, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const optionalText = z
  .string()
  .optional()
  .transform((v) => v || undefined);

/** Every variable Pulse reads, in one schema: the functions, the CLI and the tests parse it here and only here. */
const EnvironmentSchema = z.object({
  DATABASE_URL: optionalText,
  DATABASE_SECRET_ARN: optionalText,
  DATABASE_HOST: optionalText,
  // No default: unset, the port stored in the secret (else 5432) applies.
  DATABASE_PORT: optionalNumber(undefined),
  DATABASE_NAME: optionalText,
  DATABASE_SSL: z.enum(['verify-full', 'require', 'disable']).optional(),
  DATABASE_CA_BUNDLE: optionalText,
  PULSE_SERIES_CONFIG: optionalText,
  MODEL_DIR: optionalText,
  MODEL_STORE: optionalText,
  TRAINING_DATA_URI: optionalText,
  RETRAIN_RECIPE: optionalText,
  PULSE_DEFAULT_MODEL: optionalText,
  PULSE_MAX_MODELS: optionalNumber(undefined),
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: optionalNumber(undefined),
  PULSE_MIGRATIONS_DIR: optionalText,
  STALE_AFTER_HOURS: optionalNumber(DEFAULT_WINDOW_CHECKS.staleAfterHours),
  INGEST_SERIES: optionalText,
  INGEST_TRAILING_HOURS: optionalNumber(DEFAULT_INGEST_TRAILING_HOURS),
  INGEST_SECRET_ARN: optionalText,
  INGEST_SOURCE: optionalText,
  WEATHER_SOURCE: z
    .enum(['open-meteo', 'http', 'none'], { error: 'must be "open-meteo", "http" or "none"' })
    .optional(),
  WEATHER_URL: optionalText,
  WEATHER_MODEL: optionalText,
  WEATHER_SECRET_ARN: optionalText,
  WEATHER_MAX_AGE_HOURS: optionalNumber(DEFAULT_WEATHER_MAX_AGE_HOURS),
  MASTER_SECRET_ARN: optionalText,
  APP_SECRET_ARN: optionalText,
  READER_SECRET_ARN: optionalText,
  POWERTOOLS_SERVICE_NAME: optionalText,
  POWERTOOLS_METRICS_NAMESPACE: optionalText,
  AWS_LAMBDA_FUNCTION_NAME: optionalText,
  PULSE_DB_PORT: optionalNumber(DEFAULT_LOCAL_PORT),
});

export interface DatabaseConfig {
  /** A full URL (local, tests); else the secret below. */
  readonly url?: string;
  readonly secretArn?: string;
  /** Host, port and database name: these win over the secret's (the stack knows where its database is). */
  readonly host?: string;
  readonly port?: number;
  readonly name?: string;
  /** TLS: verify-full (RDS, against caBundle), require (encrypted, unchecked) or disable (local). */
  readonly ssl: SslMode;
  /** PEM file of the certificate authorities verify-full trusts (the RDS bundle in certs/). */
  readonly caBundle?: string;
}

export interface RuntimeConfig {
  readonly database: DatabaseConfig;
  readonly modelDir: string;
  /** Where per-series models are kept: s3://bucket/prefix (AWS) or a folder; unset = only modelDir. */
  readonly modelStore?: string;
  /** Where the managed retraining cycle stages each run's tensors and the training job's outputs: s3://bucket/prefix. */
  readonly trainingDataUri?: string;
  /** The managed cycle's recipe as JSON, over the default recipe (e.g. {"windowHours":168,"lr":0.001}). */
  readonly retrainRecipe?: string;
  /** Serve this version (or baseline) as the default instead of the registry's. */
  readonly defaultModel?: string;
  /**
   * The most ONNX models a forecasting process holds at once (PULSE_MAX_MODELS; in Lambda, what its
   * memory fits): series assigned a model beyond it get the default, labelled. Unset: no limit.
   */
  readonly maxModels?: number;
  readonly migrationsDir?: string;
  /** The series configuration file (pulse.config.json) the migrate function applies. */
  readonly seriesConfigFile?: string;
  readonly staleAfterHours: number;
  readonly ingest: {
    readonly series: string;
    readonly trailingHours: number;
    readonly secretArn?: string;
    /** Unset when INGEST_SOURCE is not set; the ingest handler then refuses to run. */
    readonly source?: SourceConfig;
  };
  /** Weather forecasts fetched by the ingest function (unset source: none are fetched). */
  readonly weather: WeatherSourceSettings & {
    /** Secret holding {"apiKey": "…"}: Open-Meteo's commercial tier, or the generic source's auth header value. */
    readonly secretArn?: string;
  };
  /** The deploy-time migration: the master user's secret and the login users' secrets. */
  readonly migrate: {
    readonly masterSecretArn?: string;
    readonly appSecretArn?: string;
    readonly readerSecretArn?: string;
  };
  readonly serviceName: string;
  readonly metricsNamespace: string;
  /** The CLI's embedded PostgreSQL listens here. */
  readonly localPort: number;
}

export type Environment = Readonly<Record<string, string | undefined>>;

/** Reads and checks the environment once; a bad value names the variable. */
export function loadConfig(env: Environment): RuntimeConfig {
  const parsed = EnvironmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`);
    throw new ConfigurationError(`function configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    database: {
      url: e.DATABASE_URL,
      secretArn: e.DATABASE_SECRET_ARN,
      host: e.DATABASE_HOST,
      port: e.DATABASE_PORT,
      name: e.DATABASE_NAME,
      // Without DATABASE_URL the process talks to RDS: verify the server unless told otherwise.
      ssl: e.DATABASE_SSL ?? (e.DATABASE_URL ? 'disable' : 'verify-full'),
      caBundle: e.DATABASE_CA_BUNDLE,
    },
    modelDir: e.MODEL_DIR ?? (e.AWS_LAMBDA_FUNCTION_NAME ? LAMBDA_MODEL_DIR : LOCAL_MODEL_DIR),
    modelStore: e.MODEL_STORE,
    trainingDataUri: e.TRAINING_DATA_URI,
    retrainRecipe: e.RETRAIN_RECIPE,
    defaultModel: e.PULSE_DEFAULT_MODEL,
    maxModels:
      e.PULSE_MAX_MODELS !== undefined
        ? Math.floor(e.PULSE_MAX_MODELS)
        : e.AWS_LAMBDA_FUNCTION_MEMORY_SIZE !== undefined
          ? modelsThatFit(e.AWS_LAMBDA_FUNCTION_MEMORY_SIZE)
          : undefined,
    migrationsDir: e.PULSE_MIGRATIONS_DIR,
    seriesConfigFile: e.PULSE_SERIES_CONFIG,
    staleAfterHours: e.STALE_AFTER_HOURS,
    ingest: {
      series: e.INGEST_SERIES ?? DEFAULT_INGEST_SERIES,
      trailingHours: e.INGEST_TRAILING_HOURS,
      secretArn: e.INGEST_SECRET_ARN,
      source: e.INGEST_SOURCE ? parseSourceConfig(env) : undefined,
    },
    weather: {
      ...(e.WEATHER_SOURCE === 'open-meteo' || e.WEATHER_SOURCE === 'http'
        ? { source: e.WEATHER_SOURCE }
        : {}),
      ...(e.WEATHER_SOURCE === 'http' ? { http: parseHttpWeatherConfig(env) } : {}),
      ...(e.WEATHER_URL ? { url: e.WEATHER_URL } : {}),
      ...(e.WEATHER_MODEL ? { model: e.WEATHER_MODEL } : {}),
      ...(e.WEATHER_SECRET_ARN ? { secretArn: e.WEATHER_SECRET_ARN } : {}),
      maxAgeHours: e.WEATHER_MAX_AGE_HOURS,
    },
    migrate: {
      masterSecretArn: e.MASTER_SECRET_ARN,
      appSecretArn: e.APP_SECRET_ARN,
      readerSecretArn: e.READER_SECRET_ARN,
    },
    serviceName: e.POWERTOOLS_SERVICE_NAME ?? DEFAULT_SERVICE_NAME,
    metricsNamespace: e.POWERTOOLS_METRICS_NAMESPACE ?? DEFAULT_METRICS_NAMESPACE,
    localPort: e.PULSE_DB_PORT,
  };
}

/** The configuration of a process that works on one database given by URL (the CLI, tests, the bench). */
export function localConfig(databaseUrl: string, overrides: Environment = {}): RuntimeConfig {
  return loadConfig({ DATABASE_URL: databaseUrl, ...overrides });
}
