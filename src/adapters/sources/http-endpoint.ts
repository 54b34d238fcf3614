/**
 * A generic HTTPS endpoint serving hourly actuals as CSV or JSON, read through a configured mapping:
 * GET {url}?{fromParam}=<ISO>&{toParam}=<ISO> (half-open range, UTC), then either a CSV with a header
 * naming `timeField` and `valueField`, or JSON whose items (at `itemsPath`, or the body itself) are
 * objects with those fields.
 */
import { parseActualsCsv, formatProblem } from '../../core/csv.ts';
import { PulseError, SourceError } from '../../core/errors.ts';
import type { ActualsSource, FetchedActual, HourRange } from '../../core/ports/actuals-source.ts';
import { toIso } from '../../core/time.ts';
import { checkHourStart, checkRange, checkValue, collectInRange, jsonItems } from './items.ts';
import { SourceClient, type TransportOptions } from './transport.ts';

export interface HttpSourceMapping {
  readonly url: string;
  readonly format: 'csv' | 'json';
  readonly timeField: string;
  readonly valueField: string;
  /** Dotted path to the items array in a JSON body, e.g. 'data.items'; absent: the body is the array. */
  readonly itemsPath?: string;
  /** Query parameter names for the range bounds; default 'from' and 'to'. */
  readonly fromParam?: string;
  readonly toParam?: string;
  /** Extra request headers (e.g. an API key); never written into messages. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface HttpSourceOptions extends HttpSourceMapping {
  /** Name used in messages and by the ingest run; default 'http'. */
  readonly name?: string;
  readonly transport?: TransportOptions;
}

export class HttpActualsSource implements ActualsSource {
  readonly name: string;
  private readonly client: SourceClient;

  constructor(private readonly options: HttpSourceOptions) {
    this.name = options.name ?? 'http';
    // Fail at construction, not at the first scheduled run.
    const secrets = [...Object.values(options.headers ?? {}), ...new URL(options.url).searchParams.values()];
    // Messages never quote headers or the query, but a server may echo an API key into its body.
    this.client = new SourceClient(this.name, options.transport, () => secrets);
  }

  fetch(range: HourRange, signal?: AbortSignal): Promise<FetchedActual[]> {
    return this.client.guard(() => this.fetchRange(range, signal));
  }

  private async fetchRange(range: HourRange, signal: AbortSignal | undefined): Promise<FetchedActual[]> {
    checkRange(this.name, range);
    if (range.from === range.to) return [];
    const url = new URL(this.options.url);
    url.searchParams.set(this.options.fromParam ?? 'from', toIso(range.from));
    url.searchParams.set(this.options.toParam ?? 'to', toIso(range.to));
    const accept = this.options.format === 'csv' ? 'text/csv' : 'application/json';
    const request = { method: 'GET' as const, url, headers: { Accept: accept, ...this.options.headers } };
    const where = this.client.where(request);
    const reply = await this.client.send(request, signal);
    if (reply.status < 200 || reply.status > 299) throw new SourceError(`${where}: HTTP ${reply.status}`);
    return this.options.format === 'csv'
      ? this.parseCsv(where, reply.text, range)
      : this.parseJson(where, reply.text, range);
  }

  private parseCsv(where: string, text: string, range: HourRange): FetchedActual[] {
    if (text.trim() === '') return [];
    let parsed;
    try {
      parsed = parseActualsCsv(text, {
        file: 'CSV',
        timeColumn: this.options.timeField,
        valueColumn: this.options.valueField,
      });
    } catch (error) {
      if (error instanceof PulseError) throw new SourceError(`${where}: malformed body, ${error.message}`);
      throw error;
    }
    // A partial import would hide the bad hour until someone notices a gap: refuse the whole reply.
    const [first, ...rest] = parsed.problems;
    if (first) {
      const more =
        rest.length > 0 ? ` (and ${rest.length} more bad line${rest.length === 1 ? '' : 's'})` : '';
      throw new SourceError(
        `${where}: ${formatProblem(first).replace(/^CSV:(\d+):/, 'CSV line $1:')}${more}`,
      );
    }
    return collectInRange(
      where,
      parsed.rows.map((row, index) => ({ ...row, index })),
      range,
      (i) => `row ${i + 1}`,
    );
  }

  private parseJson(where: string, text: string, range: HourRange): FetchedActual[] {
    const { timeField, valueField } = this.options;
    const { items, label } = jsonItems(where, text, this.options.itemsPath);
    const checked = items.map((record, index) => {
      const hour = checkHourStart(record[timeField]);
      if (!hour.ok) throw new SourceError(`${where}: ${label}[${index}].${timeField}: ${hour.reason}`);
      const value = checkValue(record[valueField]);
      if (!value.ok) throw new SourceError(`${where}: ${label}[${index}].${valueField}: ${value.reason}`);
      return { hour: hour.value, value: value.value, index };
    });
    return collectInRange(where, checked, range, (i) => `${label}[${i}]`);
  }
}

export function createHttpSource(options: HttpSourceOptions): HttpActualsSource {
  return new HttpActualsSource(options);
}
