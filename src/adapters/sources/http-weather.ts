/**
 * A generic HTTPS weather forecast endpoint, the alternative to Open-Meteo, read through a configured
 * mapping: GET {url}?locations=<names>&latitude=<list>&longitude=<list>&from=<ISO>&to=<ISO> (lists in the
 * same order, half-open range, UTC), answered by a CSV with a header or a JSON array (at `itemsPath`, or
 * the body itself) of rows, one per location and valid hour, with named fields for the location, the valid
 * time, the issue time (when the provider's model run was made) and one field per weather variable.
 */
import { SourceError } from '../../core/errors.ts';
import type { FetchedWeatherForecast, WeatherForecastRequest } from '../../core/ports/weather-source.ts';
import { csvDataRows, type CsvRowProblem } from '../../core/csv.ts';
import { floorToHour, HOUR_MS, toIso } from '../../core/time.ts';
import type { WeatherVariable } from '../../core/weather.ts';
import { checkHourStart, checkInstant, jsonItems } from './items.ts';
import { SourceClient, type TransportOptions } from './transport.ts';
import {
  HttpWeatherSourceBase,
  setCoordinates,
  WEATHER_FETCH_PAST_HOURS,
  WeatherAnswer,
} from './weather-answer.ts';

/** An issue time this far after the request is the provider's clock or data, not a forecast: refused. */
const ISSUE_CLOCK_SKEW_MS = 15 * 60_000;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export interface HttpWeatherMapping {
  readonly url: string;
  readonly format: 'csv' | 'json';
  /** Field names of a row's location (Pulse's location name), valid hour and issue time (ISO 8601 with offset). */
  readonly locationField: string;
  readonly validTimeField: string;
  readonly issuedField: string;
  /** Field of each weather variable the answer carries; temperature_2m is required. */
  readonly variables: Readonly<Partial<Record<WeatherVariable, string>>> & {
    readonly temperature_2m: string;
  };
  /** Dotted path to the rows in a JSON body, e.g. 'data.rows'; absent: the body is the array. */
  readonly itemsPath?: string;
}

export interface HttpWeatherOptions extends HttpWeatherMapping {
  /** Name in messages and in the stored vintages; default 'http-weather'. */
  readonly name?: string;
  /** A location whose newest issue time is older than this (hours) is stale: its values are not stored. */
  readonly maxIssueAgeHours: number;
  /** Request headers, e.g. the auth header read from the weather secret; never written into messages. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly transport?: TransportOptions;
}

/** One row of the answer, whatever its format: a label for messages and its fields. */
interface AnswerRow {
  readonly label: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

interface HourRow {
  readonly issued: number;
  readonly label: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export class HttpWeatherSource extends HttpWeatherSourceBase {
  readonly name: string;
  protected readonly client: SourceClient;

  constructor(private readonly options: HttpWeatherOptions) {
    super();
    this.name = options.name ?? 'http-weather';
    // Fail at construction, not at the first scheduled run.
    // A header value such as "Bearer <key>" is redacted whole and word by word.
    const secrets = [
      ...Object.values(options.headers ?? {}).flatMap((v) => [v, ...v.split(/\s+/)]),
      ...new URL(options.url).searchParams.values(),
    ];
    this.client = new SourceClient(this.name, options.transport, () => secrets);
  }

  protected async fetchAll(
    request: WeatherForecastRequest,
    signal: AbortSignal | undefined,
  ): Promise<FetchedWeatherForecast> {
    const { locations } = request;
    const now = floorToHour(request.now);
    const url = new URL(this.options.url);
    url.searchParams.set('locations', locations.map((l) => l.name).join(','));
    setCoordinates(url, locations);
    url.searchParams.set('from', toIso(now - WEATHER_FETCH_PAST_HOURS * HOUR_MS));
    url.searchParams.set('to', toIso(now + (request.hoursAhead + 1) * HOUR_MS));
    const accept = this.options.format === 'csv' ? 'text/csv' : 'application/json';
    const req = { method: 'GET' as const, url, headers: { Accept: accept, ...this.options.headers } };
    const where = this.client.where(req);
    const fail = (message: string): never => {
      throw new SourceError(`${where}: ${message}`);
    };

    const reply = await this.client.send(req, signal);
    if (reply.status === 401 || reply.status === 403)
      fail(`HTTP ${reply.status} (check the auth header value in the weather secret)`);
    if (reply.status < 200 || reply.status > 299) fail(`HTTP ${reply.status}`);
    const rows =
      this.options.format === 'csv' ? this.csvRows(reply.text, fail) : this.jsonRows(where, reply.text);
    return this.read(request, rows, fail);
  }

  private csvRows(text: string, fail: (message: string) => never): AnswerRow[] {
    if (text.trim() === '') fail('malformed body, empty CSV');
    const lines = text.split(/\r?\n/);
    const header = (lines[0] ?? '').trim().split(',');
    const needed = [
      this.options.locationField,
      this.options.validTimeField,
      this.options.issuedField,
      ...Object.values(this.options.variables),
    ];
    const absent = needed.filter((f) => !header.includes(f));
    if (absent.length)
      fail(`malformed body, the CSV header has no ${absent.map((f) => `"${f}"`).join(', ')}`);
    const problems: CsvRowProblem[] = [];
    const rows: AnswerRow[] = [];
    for (const { line, cells } of csvDataRows(lines, header.length, 'CSV', problems)) {
      // CSV cells are text: an empty cell is a gap, a number is a number, anything else stays text (malformed).
      const fields = Object.fromEntries(
        header.map((name, c) => {
          const cell = cells[c]!.trim();
          return [name, cell === '' ? null : NUMBER.test(cell) ? Number(cell) : cell];
        }),
      );
      rows.push({ label: `CSV line ${line}`, fields });
    }
    const [first] = problems;
    if (first) fail(`malformed body, CSV line ${first.line}: ${first.reason}`);
    return rows;
  }

  private jsonRows(where: string, text: string): AnswerRow[] {
    const { items, label } = jsonItems(where, text, this.options.itemsPath);
    return items.map((fields, index) => ({ label: `${label}[${index}]`, fields }));
  }

  /**
   * Rows into values. A row without a location or a usable issue time refuses the whole answer (it cannot be
   * placed); a row with a bad valid time, or a bad value, is left out and its location listed as incomplete.
   * Per location and hour the newest issue wins; a location whose newest issue is older than the limit is
   * stale and none of its values are kept.
   */
  private read(
    request: WeatherForecastRequest,
    rows: readonly AnswerRow[],
    fail: (message: string) => never,
  ): FetchedWeatherForecast {
    const { locationField, validTimeField, issuedField, variables } = this.options;
    const asked = new Set(request.locations.map((l) => l.name));
    const byLocation = new Map<string, Map<number, HourRow>>();
    const strays = new Map<string, number>();
    const answer = new WeatherAnswer(request);
    const variableFields = Object.entries(variables) as [WeatherVariable, string][];
    for (const { label, fields } of rows) {
      const location = fields[locationField];
      if (typeof location !== 'string' || location.trim() === '')
        fail(`${label}.${locationField}: missing or not a name`);
      const name = (location as string).trim();
      const issued = checkInstant(fields[issuedField]);
      if (!issued.ok) return fail(`${label}.${issuedField}: ${issued.reason}`);
      if (issued.value > request.now + ISSUE_CLOCK_SKEW_MS)
        fail(
          `${label}.${issuedField}: issued ${toIso(issued.value)}, after the request (${toIso(request.now)})`,
        );
      if (!asked.has(name)) {
        strays.set(name, (strays.get(name) ?? 0) + 1);
        continue;
      }
      const hour = checkHourStart(fields[validTimeField]);
      if (!hour.ok) {
        answer.reject(name, variableFields.length);
        continue;
      }
      const hours = byLocation.get(name) ?? new Map<number, HourRow>();
      byLocation.set(name, hours);
      const held = hours.get(hour.value);
      if (held && held.issued === issued.value) {
        const differs = variableFields.find(([, f]) => held.fields[f] !== fields[f]);
        if (differs)
          fail(
            `${label} repeats ${name} at ${toIso(hour.value)} (issued ${toIso(issued.value)}) with another ${differs[1]} than ${held.label}`,
          );
      }
      if (!held || issued.value > held.issued) hours.set(hour.value, { issued: issued.value, label, fields });
    }

    let newestStale = -Infinity;
    for (const { name } of request.locations) {
      const hours = byLocation.get(name);
      if (!hours) {
        answer.gap(name, 'missing from the answer');
        continue;
      }
      const newest = Math.max(...[...hours.values()].map((r) => r.issued));
      const age = (request.now - newest) / HOUR_MS;
      if (age > this.options.maxIssueAgeHours) {
        newestStale = Math.max(newestStale, newest);
        answer.gap(
          name,
          `stale: newest forecast issued ${toIso(newest)}, ${age.toFixed(1)} h before the request (limit ${this.options.maxIssueAgeHours} h); not stored`,
        );
        continue;
      }
      for (const [hour, row] of hours)
        for (const [variable, field] of variableFields) answer.add(name, variable, hour, row.fields[field]);
      answer.closeLocation(name);
    }
    for (const [name, count] of strays)
      answer.gap(name, `not a location asked for: ${count} row${count === 1 ? '' : 's'} left out`);
    if (newestStale > -Infinity && byLocation.size > 0 && answer.isEmpty())
      fail(
        `stale issue times: the newest forecast was issued ${toIso(newestStale)}, ${((request.now - newestStale) / HOUR_MS).toFixed(1)} h before the request (limit ${this.options.maxIssueAgeHours} h)`,
      );
    return answer.finish(fail);
  }
}
