/**
 * Expands a panel's SQL the way Grafana does before PostgreSQL sees it: first the frontend replaces template
 * variables and $__interval, then the PostgreSQL data source (pkg/tsdb/grafana-postgresql-datasource,
 * macros.go) replaces the $__macros. Only what Pulse's dashboards use is implemented, and anything left
 * unexpanded is an error, so a new macro cannot slip into a dashboard untested.
 */

export interface TemplateVariable {
  /** The selected value(s); for a multi-value or include-all variable, every selected value. */
  readonly value: string | readonly string[];
  /** Grafana quotes each value (and joins them with commas) only for multi-value or include-all variables. */
  readonly multi: boolean;
  readonly includeAll?: boolean;
}

export interface GrafanaQueryContext {
  /** Time picker range, epoch ms. */
  readonly from: number;
  readonly to: number;
  /** What Grafana computed for $__interval (range / max data points, at least the panel's min interval). */
  readonly intervalMs: number;
  readonly variables: Readonly<Record<string, TemplateVariable>>;
}

/** Grafana's own rendering of an interval (kbn.secondsToHms without the fractions Pulse never produces). */
export function formatInterval(ms: number): string {
  const units: [number, string][] = [
    [7 * 86_400_000, 'w'],
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ];
  for (const [size, unit] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** Go's gtime.ParseInterval for the forms Grafana produces: 1w, 2d, 1h, 30m, 15s, 100ms (quotes allowed). */
export function parseInterval(text: string): number {
  const match = /^'?(\d+)(ms|s|m|h|d|w)'?$/.exec(text.trim());
  if (!match) throw new Error(`not an interval: ${text}`);
  const size = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }[match[2]!]!;
  return Number(match[1]) * size;
}

/** time.RFC3339Nano of a UTC instant: no fractional part when it is zero. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** The SQL data sources' interpolateVariable: a single value is escaped but not quoted, lists are quoted. */
function interpolate(variable: TemplateVariable): string {
  const values = typeof variable.value === 'string' ? [variable.value] : [...variable.value];
  const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;
  if (typeof variable.value !== 'string' || variable.multi || variable.includeAll)
    return values.map(quote).join(',');
  return values[0]!.replace(/'/g, "''");
}

function replaceVariables(sql: string, context: GrafanaQueryContext): string {
  const builtIn: Record<string, string> = {
    __interval: formatInterval(context.intervalMs),
    __interval_ms: String(context.intervalMs),
  };
  // Grafana's variable syntax: $name, ${name} and ${name:format}; [[name]] is deprecated and unused here.
  return sql.replace(
    /\$\{(\w+)(?::(\w+))?\}|\$(\w+)/g,
    (whole, braced?: string, format?: string, bare?: string) => {
      const name = (braced ?? bare)!;
      if (name in builtIn) return builtIn[name]!;
      const variable = context.variables[name];
      if (!variable) return whole; // a $__macro, or not a variable: left for the data source
      if (format && format !== 'sqlstring') throw new Error(`variable format ${format} not supported`);
      return interpolate(variable);
    },
  );
}

function expandMacros(sql: string, context: GrafanaQueryContext): string {
  return sql.replace(/\$(__\w+)\(([^)]*)\)/g, (_whole, name: string, rawArgs: string) => {
    const args = rawArgs.split(',').map((a) => a.trim());
    switch (name) {
      case '__time':
        return `${args[0]} AS "time"`;
      case '__timeEpoch':
        return `extract(epoch from ${args[0]}) as "time"`;
      case '__timeFilter':
        return `${args[0]} BETWEEN '${rfc3339(context.from)}' AND '${rfc3339(context.to)}'`;
      case '__timeFrom':
        return `'${rfc3339(context.from)}'`;
      case '__timeTo':
        return `'${rfc3339(context.to)}'`;
      case '__timeGroup':
      case '__timeGroupAlias': {
        if (args.length < 2) throw new Error(`${name} needs a column and an interval`);
        const seconds = parseInterval(args[1]!) / 1000;
        const group = `floor(extract(epoch from ${args[0]})/${seconds})*${seconds}`;
        return name === '__timeGroupAlias' ? `${group} AS "time"` : group;
      }
      case '__unixEpochFilter':
        return `${args[0]} >= ${Math.floor(context.from / 1000)} AND ${args[0]} <= ${Math.floor(context.to / 1000)}`;
      default:
        throw new Error(`macro $${name} is not implemented in the test expander`);
    }
  });
}

/** The SQL PostgreSQL receives for a panel target, variable query or annotation. */
export function expandGrafanaSql(sql: string, context: GrafanaQueryContext): string {
  const expanded = expandMacros(replaceVariables(sql, context), context);
  const leftover = /\$\{?\w+/.exec(expanded);
  if (leftover) throw new Error(`unexpanded ${leftover[0]} in:\n${expanded}`);
  return expanded;
}
