import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as common from '@grafana/grafana-foundation-sdk/common';
import { pulseDatasource } from './datasource.ts';

/** How Grafana turns the rows into frames: `time_series` wants a `time` column, `table` keeps rows as they are. */
export type SqlFormat = 'time_series' | 'table';

/** The target model of Grafana's PostgreSQL data source in code mode (the SDK ships no builder for it). */
export interface PostgresQuery {
  refId: string;
  hide?: boolean;
  datasource: common.DataSourceRef;
  editorMode: 'code';
  rawQuery: true;
  format: SqlFormat;
  rawSql: string;
  /** Tells the SDK's types that this is a data query. */
  _implementsDataqueryVariant(): void;
}

/** A typed builder for one raw-SQL target, in the shape of the SDK's own builders. */
export class PostgresQueryBuilder implements cog.Builder<cog.Dataquery> {
  private readonly internal: PostgresQuery;

  constructor(rawSql: string) {
    this.internal = {
      refId: 'A',
      datasource: pulseDatasource,
      editorMode: 'code',
      rawQuery: true,
      format: 'table',
      rawSql: dedent(rawSql),
      _implementsDataqueryVariant() {},
    };
  }

  build(): PostgresQuery {
    return this.internal;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  format(format: SqlFormat): this {
    this.internal.format = format;
    return this;
  }

  timeSeries(): this {
    return this.format('time_series');
  }
}

export function sqlQuery(rawSql: string): PostgresQueryBuilder {
  return new PostgresQueryBuilder(rawSql);
}

/** Strips the indentation of template literals so the JSON (and Grafana's editor) shows tidy SQL. */
export function dedent(text: string): string {
  const lines = text.replace(/^\n+|\s+$/g, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent).trimEnd()).join('\n');
}

/**
 * The origins whose forecasts can target an hour of the dashboard's range (`horizons`: the longest horizon read, at most 168 h).
 * The views predictions and evaluations (migration 0070) compute target_hour from the origin, so a filter
 * on target_hour alone reads every forecast of the series; this one lets the forecasts' index bound it.
 */
export function originsInRange(alias?: string, horizons = 168): string {
  const origin = alias ? `${alias}.last_input_hour` : 'last_input_hour';
  return `${origin} >= $__timeFrom()::timestamptz - interval '${horizons} hours' and ${origin} < $__timeTo()`;
}
