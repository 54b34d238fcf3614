import { z } from 'zod';
import { ConfigurationError } from '../../core/errors.ts';
import type { ActualsSource } from '../../core/ports/actuals-source.ts';
import { secureUrl, SeriesSourceSchema, type SeriesSource } from '../../core/series-config.ts';
import {
  EPIAS_DEFAULT_API_URL,
  EPIAS_DEFAULT_AUTH_URL,
  EpiasRealtimeConsumptionSource,
  type EpiasCredentials,
} from './epias.ts';
import { HttpActualsSource } from './http-endpoint.ts';
import type { TransportOptions } from './transport.ts';

export type SourceConfig =
  | { readonly kind: 'epias'; readonly authUrl: string; readonly apiUrl: string }
  | {
      readonly kind: 'http';
      readonly url: string;
      readonly format: 'csv' | 'json';
      readonly timeField: string;
      readonly valueField: string;
      readonly itemsPath?: string;
      readonly fromParam: string;
      readonly toParam: string;
    };

export const nonEmpty = z.string().trim().min(1, 'must not be empty');
/** An unset or blank environment variable is absent. */
export const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());
export const dottedPath = nonEmpty.regex(/^[^.]+(\.[^.]+)*$/, 'must be a dotted path such as data.items');

const epiasEnv = z.object({
  INGEST_SOURCE: z.literal('epias'),
  EPIAS_AUTH_URL: optional(secureUrl),
  EPIAS_API_URL: optional(secureUrl),
});

const httpEnv = z.object({
  INGEST_SOURCE: z.literal('http'),
  INGEST_HTTP_URL: secureUrl,
  INGEST_HTTP_FORMAT: z.enum(['csv', 'json'], { error: 'must be "csv" or "json"' }),
  INGEST_HTTP_TIME_FIELD: nonEmpty,
  INGEST_HTTP_VALUE_FIELD: nonEmpty,
  INGEST_HTTP_ITEMS_PATH: optional(dottedPath),
  INGEST_HTTP_FROM_PARAM: optional(nonEmpty),
  INGEST_HTTP_TO_PARAM: optional(nonEmpty),
});

const sourceEnv = z.discriminatedUnion('INGEST_SOURCE', [epiasEnv, httpEnv], {
  error: 'must be "epias" or "http"',
});

/** One line naming each bad environment variable and what is wrong with it. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const variable = issue.path.map(String).join('.') || 'environment';
      // Missing variables arrive as "expected string, received undefined"; say it plainly.
      const message =
        issue.code === 'invalid_type' && issue.input === undefined ? 'is not set' : issue.message;
      return `${variable}: ${message}`;
    })
    .join('; ');
}

/**
 * Reads the ingest source from plain config values (usually process.env).
 * Throws a ConfigurationError naming each bad variable.
 */
export function parseSourceConfig(env: Readonly<Record<string, string | undefined>>): SourceConfig {
  const result = sourceEnv.safeParse(env);
  if (!result.success)
    throw new ConfigurationError(`ingest source configuration: ${describeIssues(result.error)}`);
  const v = result.data;
  // The same settings as a series' configured source, named by environment variables: one set of defaults.
  return sourceConfigOf(
    SeriesSourceSchema.parse(
      v.INGEST_SOURCE === 'epias'
        ? { kind: 'epias', authUrl: v.EPIAS_AUTH_URL, apiUrl: v.EPIAS_API_URL }
        : {
            kind: 'http',
            url: v.INGEST_HTTP_URL,
            format: v.INGEST_HTTP_FORMAT,
            timeField: v.INGEST_HTTP_TIME_FIELD,
            valueField: v.INGEST_HTTP_VALUE_FIELD,
            itemsPath: v.INGEST_HTTP_ITEMS_PATH,
            fromParam: v.INGEST_HTTP_FROM_PARAM,
            toParam: v.INGEST_HTTP_TO_PARAM,
          },
    ),
  );
}

/** The adapter's source settings for a series' configured source (EPİAŞ URLs default to the public service). */
export function sourceConfigOf(source: SeriesSource): SourceConfig {
  if (source.kind === 'epias') {
    return {
      kind: 'epias',
      authUrl: source.authUrl ?? EPIAS_DEFAULT_AUTH_URL,
      apiUrl: source.apiUrl ?? EPIAS_DEFAULT_API_URL,
    };
  }
  return {
    kind: 'http',
    url: source.url,
    format: source.format,
    timeField: source.timeField,
    valueField: source.valueField,
    ...(source.itemsPath ? { itemsPath: source.itemsPath } : {}),
    fromParam: source.fromParam,
    toParam: source.toParam,
  };
}

export interface SourceDependencies {
  /** Required for EPİAŞ; the Lambda reads them from Secrets Manager, a local run from a file or env. */
  readonly getCredentials?: () => Promise<EpiasCredentials>;
  /** Extra headers for the generic endpoint (e.g. an API key read from a secret). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly transport?: TransportOptions;
}

/** Builds the configured source. Create it once per container so the EPİAŞ ticket is reused across invokes. */
export function createActualsSource(config: SourceConfig, deps: SourceDependencies = {}): ActualsSource {
  if (config.kind === 'epias') {
    if (!deps.getCredentials) {
      throw new ConfigurationError('INGEST_SOURCE=epias needs credentials, but no getCredentials was given');
    }
    return new EpiasRealtimeConsumptionSource({
      authUrl: config.authUrl,
      apiUrl: config.apiUrl,
      getCredentials: deps.getCredentials,
      ...(deps.transport ? { transport: deps.transport } : {}),
    });
  }
  return new HttpActualsSource({
    ...config,
    ...(deps.headers ? { headers: deps.headers } : {}),
    ...(deps.transport ? { transport: deps.transport } : {}),
  });
}
