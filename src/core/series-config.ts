import { z } from 'zod';
import { isKnownCountry, isValidTimeZone } from './calendar/validate.ts';
import { ConfigurationError } from './errors.ts';
import { SERIES_NAME } from './series.ts';

/**
 * The series configuration: which series Pulse forecasts, where their actuals come from and how they
 * are read. One JSON file in the repository (`pulse.config.json`, see docs/deploy.md) that a user edits;
 * `cdk synth` validates it, the migrate function applies it on every deploy, `pulse serve` reads it
 * locally. This module is the one definition of that file: pure (no file system, no environment).
 */

/**
 * The username the stack writes into the ingest secret it creates. While the secret still holds it,
 * the ingest function reports "not configured" instead of failing every hour.
 */
export const UNSET_CREDENTIALS_USERNAME = 'set-me';

/** The file `cdk synth`, the migrate function and `pulse serve` read unless told otherwise. */
export const SERIES_CONFIG_FILE = 'pulse.config.json';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Credentials and API keys travel with source requests: https, or plain http to this machine only. */
export const secureUrl = z
  .string()
  .trim()
  .superRefine((text, ctx) => {
    if (!URL.canParse(text)) {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
      return;
    }
    const url = new URL(text);
    if (!(url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname)))) {
      ctx.addIssue({ code: 'custom', message: 'must use https (plain http only for localhost)' });
    }
  });

const nonEmpty = z.string().trim().min(1, 'must not be empty');

/** EPİAŞ Transparency Platform, real-time consumption of Türkiye; the URLs default to the public service. */
const EpiasSourceSchema = z
  .object({
    kind: z.literal('epias'),
    authUrl: secureUrl.optional(),
    apiUrl: secureUrl.optional(),
  })
  .strict();

/** Any HTTPS endpoint answering hourly values for a time range, as CSV or JSON. */
const HttpSourceSchema = z
  .object({
    kind: z.literal('http'),
    url: secureUrl,
    format: z.enum(['csv', 'json'], { error: 'must be "csv" or "json"' }),
    timeField: nonEmpty,
    valueField: nonEmpty,
    itemsPath: nonEmpty.regex(/^[^.]+(\.[^.]+)*$/, 'must be a dotted path such as data.items').optional(),
    fromParam: nonEmpty.default('from'),
    toParam: nonEmpty.default('to'),
  })
  .strict();

export const SeriesSourceSchema = z.discriminatedUnion('kind', [EpiasSourceSchema, HttpSourceSchema], {
  error: 'kind must be "epias" or "http"',
});

/** A weather location a series follows; the weights of a series sum to 1 (e.g. population shares). */
const WeatherLocationSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be lower-case letters, digits or '-'"),
    latitude: z.number().min(-90).max(90),
    longitude: z.number().min(-180).max(180),
    weight: z.number().gt(0).max(1),
  })
  .strict();

const SeriesWeatherSchema = z
  .object({ locations: z.array(WeatherLocationSchema).min(1, 'needs at least one location') })
  .strict()
  .refine((w) => Math.abs(w.locations.reduce((sum, l) => sum + l.weight, 0) - 1) <= 0.001, {
    error: 'location weights must sum to 1',
    path: ['locations'],
  })
  .refine((w) => new Set(w.locations.map((l) => l.name)).size === w.locations.length, {
    error: 'a location is listed twice',
    path: ['locations'],
  });

export const SeriesEntrySchema = z
  .object({
    name: z.string().regex(SERIES_NAME, "must be letters, digits, '.', '_' or '-' (at most 63)"),
    /** ISO 3166 code of the country whose holidays shape the load; omit for none. */
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166 country code such as TR or US')
      .refine(isKnownCountry, {
        error: (issue) => `"${String(issue.input)}" is not a country with a holiday calendar`,
      })
      .optional(),
    /** IANA time zone of the series' wall clock (days, holidays, hour of day). */
    timezone: z.string().refine(isValidTimeZone, {
      error: (issue) => `"${String(issue.input)}" is not an IANA time zone such as Europe/Istanbul`,
    }),
    /** @default 'MWh' */
    unit: nonEmpty.max(16).default('MWh'),
    /** Where the ingest function reads actuals; omitted: actuals come from `pulse import` only. */
    source: SeriesSourceSchema.optional(),
    /** Model version pinned on every deploy; omitted: the series' promoted champion, else the default model. */
    model: nonEmpty.optional(),
    /** Weather locations and weights for weather models (the weather fetch asks for these). */
    weather: SeriesWeatherSchema.optional(),
    /** An inactive series keeps its data but is not ingested, forecast or evaluated. @default true */
    active: z.boolean().default(true),
  })
  .strict();

export const SeriesConfigSchema = z
  .object({
    /** Editors may point this at a JSON schema; ignored here. */
    $schema: z.string().optional(),
    series: z.array(SeriesEntrySchema),
  })
  .strict();

export type SeriesSource = z.output<typeof SeriesSourceSchema>;
export type SeriesEntry = z.output<typeof SeriesEntrySchema>;
export type SeriesConfig = z.output<typeof SeriesConfigSchema>;

/** Human path of an issue: `series[2] "spain": source.url`. */
function describePath(input: unknown, path: ReadonlyArray<PropertyKey>): string {
  if (path[0] !== 'series' || typeof path[1] !== 'number') return path.map(String).join('.') || '(file)';
  const entries = (input as { series?: unknown }).series;
  const entry = Array.isArray(entries) ? (entries[path[1]] as { name?: unknown } | undefined) : undefined;
  const name = typeof entry?.name === 'string' ? ` "${entry.name}"` : '';
  const field = path.slice(2).map(String).join('.');
  return `series[${path[1]}]${name}${field ? `: ${field}` : ''}`;
}

/**
 * Checks a parsed JSON document against the schema. A bad one throws a ConfigurationError that names
 * the file, each entry (index and name) and each field, such as
 * `pulse.config.json: series[1] "spain": timezone: "Europe/Madird" is not an IANA time zone`.
 */
export function parseSeriesConfig(input: unknown, where = SERIES_CONFIG_FILE): SeriesConfig {
  const result = SeriesConfigSchema.safeParse(input);
  const issues: Array<{ path: ReadonlyArray<PropertyKey>; message: string }> = result.success
    ? []
    : result.error.issues.map((issue) => ({
        path: issue.path,
        message: issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message,
      }));
  issues.push(...duplicateNames(input));
  if (result.success && issues.length === 0) return result.data;
  const problems = issues.map((issue) => `${describePath(input, issue.path)}: ${issue.message}`);
  throw new ConfigurationError(`${where}: ${problems.join('; ')}`);
}

/** Names are the series' identity: a second entry with the same name is an error, also when others are. */
function duplicateNames(input: unknown): Array<{ path: PropertyKey[]; message: string }> {
  const entries = (input as { series?: unknown } | null)?.series;
  if (!Array.isArray(entries)) return [];
  const first = new Map<string, number>();
  const out: Array<{ path: PropertyKey[]; message: string }> = [];
  entries.forEach((entry: unknown, i) => {
    const name = (entry as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return;
    const seen = first.get(name);
    if (seen === undefined) first.set(name, i);
    else
      out.push({ path: ['series', i, 'name'], message: `"${name}" is already the name of series[${seen}]` });
  });
  return out;
}

/** Parses the text of the file (JSON), with the same errors as parseSeriesConfig. */
export function parseSeriesConfigText(text: string, where = SERIES_CONFIG_FILE): SeriesConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(`${where}: not valid JSON (${(error as Error).message})`);
  }
  return parseSeriesConfig(json, where);
}
