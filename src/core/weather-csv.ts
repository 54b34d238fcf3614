import { csvDataRows, formatProblem, hourOfTimestamp, type CsvRowProblem } from './csv.ts';
import { InputError } from './errors.ts';
import { HOUR_MS, type HourMs } from './time.ts';
import { WEATHER_VARIABLES, type LocationSeries, type WeatherVariable } from './weather.ts';

export { formatProblem };

/** Column suffixes accepted for each variable: `<location>_<suffix>`. */
const SUFFIXES: Record<string, WeatherVariable> = {
  t2m: 'temperature_2m',
  temperature_2m: 'temperature_2m',
  rh: 'relative_humidity_2m',
  relative_humidity_2m: 'relative_humidity_2m',
  cloud: 'cloud_cover',
  cloud_cover: 'cloud_cover',
};

/** Plausible ranges; a value outside is a row problem, not a stored value. */
const RANGES: Record<WeatherVariable, readonly [number, number]> = {
  temperature_2m: [-80, 65],
  relative_humidity_2m: [0, 100],
  cloud_cover: [0, 100],
};

export interface WeatherColumn {
  readonly location: string;
  readonly variable: WeatherVariable;
}

/** Hourly weather in wide form: one dense array per column, NaN where a cell was missing or bad. */
export interface ParsedWeather {
  readonly columns: readonly WeatherColumn[];
  /** Hour of values[*][0]. */
  readonly start: HourMs;
  readonly hours: number;
  /** values[c][k] = column c at start + k h. */
  readonly values: readonly Float32Array[];
  readonly problems: CsvRowProblem[];
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses a wide weather CSV: `ts_utc,<location>_<var>,…` with var one of t2m | rh | cloud (or the
 * Open-Meteo names temperature_2m | relative_humidity_2m | cloud_cover). Header problems throw an
 * InputError naming the file and column; bad cells are collected and left out.
 */
export function parseWeatherCsv(text: string, options: { file: string }): ParsedWeather {
  const { file } = options;
  const lines = text.split(/\r?\n/);
  const headerLine = lines[0]?.replace(/^\uFEFF/, '').trim() ?? '';
  if (headerLine === '')
    throw new InputError(`${file}:1: the file is empty; expected a header such as "ts_utc,istanbul_t2m"`);
  const header = headerLine.split(',').map((h) => h.trim());
  if (header[0] !== 'ts_utc')
    throw new InputError(`${file}:1: the first column must be "ts_utc", not "${header[0]}"`);
  const columns: WeatherColumn[] = [];
  const seen = new Set<string>();
  for (const name of header.slice(1)) {
    const m = /^([a-z0-9][a-z0-9-]*?)_(t2m|temperature_2m|rh|relative_humidity_2m|cloud|cloud_cover)$/.exec(
      name,
    );
    if (!m) {
      throw new InputError(
        `${file}:1: column "${name}" is not <location>_<variable> with variable one of t2m, rh, cloud (or ${WEATHER_VARIABLES.join(', ')})`,
      );
    }
    const column = { location: m[1]!, variable: SUFFIXES[m[2]!]! };
    const key = `${column.location}|${column.variable}`;
    if (seen.has(key)) throw new InputError(`${file}:1: column "${name}" appears twice`);
    seen.add(key);
    columns.push(column);
  }
  if (columns.length === 0) throw new InputError(`${file}:1: no weather columns after ts_utc`);

  const problems: CsvRowProblem[] = [];
  const rows: { hour: number; cells: string[]; line: number }[] = [];
  for (const { line, cells } of csvDataRows(lines, header.length, file, problems)) {
    const stamp = hourOfTimestamp(cells[0]!.trim());
    if ('reason' in stamp) problems.push({ file, line, reason: stamp.reason });
    else rows.push({ hour: stamp.hour, cells, line });
  }
  if (rows.length === 0)
    return { columns, start: 0, hours: 0, values: columns.map(() => new Float32Array(0)), problems };
  let start = Infinity;
  let end = -Infinity;
  for (const r of rows) {
    if (r.hour < start) start = r.hour;
    if (r.hour > end) end = r.hour;
  }
  const hours = Math.round((end - start) / HOUR_MS) + 1;
  const values = columns.map(() => new Float32Array(hours).fill(NaN));
  const lineOf = new Int32Array(hours);
  for (const r of rows) {
    const k = Math.round((r.hour - start) / HOUR_MS);
    if (lineOf[k] !== 0) {
      problems.push({
        file,
        line: r.line,
        reason: `hour ${r.cells[0]} already given on line ${lineOf[k]}; this line is skipped`,
      });
      continue;
    }
    lineOf[k] = r.line;
    for (let c = 0; c < columns.length; c++) {
      const text = r.cells[c + 1]!.trim();
      const { variable } = columns[c]!;
      if (!NUMBER.test(text)) {
        problems.push({ file, line: r.line, reason: `${header[c + 1]}: unparseable value "${text}"` });
        continue;
      }
      const v = Number(text);
      const [lo, hi] = RANGES[variable];
      if (!(v >= lo && v <= hi)) {
        problems.push({ file, line: r.line, reason: `${header[c + 1]}: ${text} is outside ${lo}…${hi}` });
        continue;
      }
      values[c]![k] = v;
    }
  }
  return { columns, start, hours, values, problems };
}

/** One location's series of one variable from a parsed file (NaN-filled when absent). */
export function locationSeries(
  parsed: ParsedWeather,
  location: string,
  variable: WeatherVariable,
): LocationSeries | null {
  const c = parsed.columns.findIndex((col) => col.location === location && col.variable === variable);
  return c < 0 ? null : { start: parsed.start, values: parsed.values[c]! };
}

export interface ParsedLocation {
  readonly name: string;
  readonly latitude: number;
  readonly longitude: number;
  readonly weight: number;
}

/**
 * Parses a locations CSV (`location,latitude,longitude,…,<weight column>`); the weight column is
 * `weight` or `share_of_covered_population`. Weights are normalised to sum to 1.
 */
export function parseLocationsCsv(text: string, options: { file: string }): ParsedLocation[] {
  const { file } = options;
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '')
    .replace(/^\uFEFF/, '')
    .split(',')
    .map((h) => h.trim());
  const idx = (names: string[]): number => header.findIndex((h) => names.includes(h));
  const name = idx(['location', 'name']);
  const lat = idx(['latitude', 'lat']);
  const lon = idx(['longitude', 'lon']);
  const weight = idx(['weight', 'share_of_covered_population']);
  if (name < 0 || lat < 0 || lon < 0 || weight < 0) {
    throw new InputError(
      `${file}:1: header needs location, latitude, longitude and weight (or share_of_covered_population); found "${header.join(',')}"`,
    );
  }
  const out: ParsedLocation[] = [];
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i]!.split(',').map((c) => c.trim());
    const row = {
      name: cells[name] ?? '',
      latitude: Number(cells[lat]),
      longitude: Number(cells[lon]),
      weight: Number(cells[weight]),
    };
    if (!/^[a-z0-9][a-z0-9-]*$/.test(row.name))
      throw new InputError(
        `${file}:${i + 1}: location "${row.name}" must be lower-case letters, digits or -`,
      );
    if (!(Math.abs(row.latitude) <= 90) || !(Math.abs(row.longitude) <= 180))
      throw new InputError(`${file}:${i + 1}: ${row.name}: latitude/longitude out of range`);
    if (!(row.weight > 0)) throw new InputError(`${file}:${i + 1}: ${row.name}: weight must be > 0`);
    out.push(row);
  }
  if (out.length === 0) throw new InputError(`${file}: no locations`);
  const total = out.reduce((s, l) => s + l.weight, 0);
  return out.map((l) => ({ ...l, weight: l.weight / total }));
}
