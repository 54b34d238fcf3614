import { InputError } from './errors.ts';
import { hasValidIsoFields, HOUR_MS, toIso } from './time.ts';

export interface ActualRow {
  readonly hour: number;
  readonly value: number;
}

export interface CsvRowProblem {
  readonly file: string;
  readonly line: number;
  readonly reason: string;
}

export interface ParsedActuals {
  /** Valid rows sorted by hour, one per hour. */
  readonly rows: ActualRow[];
  /** One entry per rejected line; those lines are skipped, the good rows are kept. */
  readonly problems: CsvRowProblem[];
}

export interface ParseCsvOptions {
  /** Name used in messages, usually the path. */
  readonly file: string;
  /** Value column; default: the second column of the header. */
  readonly valueColumn?: string;
  /** Timestamp column; default 'ts_utc'. */
  readonly timeColumn?: string;
}

// Full ISO 8601 date-time with an explicit offset or Z; local-time strings are ambiguous around DST.
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Quoted input is cut to a readable length: a wrong file must not flood the terminal. */
function clip(text: string, max = 40): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

export function formatProblem(p: CsvRowProblem): string {
  return `${p.file}:${p.line}: ${p.reason}`;
}

/**
 * The data lines of a CSV after its header, split into cells: blank lines are skipped, a line with
 * another number of fields than the header is reported in `problems` and skipped.
 */
export function* csvDataRows(
  lines: readonly string[],
  fields: number,
  file: string,
  problems: CsvRowProblem[],
): Generator<{ line: number; cells: string[] }> {
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    const cells = raw.split(',');
    if (cells.length !== fields) {
      problems.push({ file, line: i + 1, reason: `expected ${fields} fields, found ${cells.length}` });
      continue;
    }
    yield { line: i + 1, cells };
  }
}

/**
 * The hour a CSV timestamp names: ISO 8601 with Z or an offset, a real calendar time, on the hour.
 * Otherwise the reason it names none.
 */
export function hourOfTimestamp(ts: string): { hour: number } | { reason: string } {
  if (!ISO_WITH_OFFSET.test(ts))
    return { reason: `unparseable timestamp "${clip(ts)}" (need ISO 8601 with Z or an offset)` };
  const ms = Date.parse(ts.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (!Number.isFinite(ms) || !hasValidIsoFields(ts)) return { reason: `invalid date "${ts}"` };
  if (ms % HOUR_MS !== 0) return { reason: `timestamp "${ts}" is not on the hour` };
  return { hour: ms };
}

/**
 * Parses hourly actuals from CSV text (`ts_utc,value` with a header).
 * Header problems throw an InputError; row problems are collected so the good rows can still be imported.
 */
export function parseActualsCsv(text: string, options: ParseCsvOptions): ParsedActuals {
  const { file } = options;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what marks a binary file
  const binary = text.slice(0, 64 * 1024).search(/[\u0000-\u0008\u000e-\u001f\ufffd]/);
  if (binary >= 0) {
    const line = text.slice(0, binary).split('\n').length;
    throw new InputError(
      `${file}:${line}: not a text CSV file (binary content at character ${binary + 1}); expected "ts_utc,value" lines`,
    );
  }
  const lines = text.split(/\r?\n/);
  const headerLine = lines[0]?.replace(/^\uFEFF/, '').trim() ?? '';
  if (headerLine === '')
    throw new InputError(`${file}:1: the file is empty; expected a header such as "ts_utc,value"`);
  const header = headerLine.split(',').map((h) => h.trim());
  const timeColumn = options.timeColumn ?? 'ts_utc';
  const timeIndex = header.indexOf(timeColumn);
  if (timeIndex < 0) {
    throw new InputError(`${file}:1: no "${timeColumn}" column in header "${clip(headerLine)}"`);
  }
  const valueIndex = options.valueColumn ? header.indexOf(options.valueColumn) : timeIndex === 0 ? 1 : 0;
  if (valueIndex < 0 || valueIndex >= header.length || valueIndex === timeIndex) {
    const wanted = options.valueColumn ? `"${options.valueColumn}"` : 'a value column';
    throw new InputError(`${file}:1: no ${wanted} column in header "${clip(headerLine)}"`);
  }

  const problems: CsvRowProblem[] = [];
  const byHour = new Map<number, { value: number; line: number }>();
  const conflicted = new Set<number>();
  for (const { line, cells } of csvDataRows(lines, header.length, file, problems)) {
    const stamp = hourOfTimestamp(cells[timeIndex]!.trim());
    if ('reason' in stamp) {
      problems.push({ file, line, reason: stamp.reason });
      continue;
    }
    const ms = stamp.hour;
    const valueText = cells[valueIndex]!.trim();
    if (!NUMBER.test(valueText)) {
      const reason = /^[+-]?(inf|infinity|nan)$/i.test(valueText) ? 'non-finite' : 'unparseable';
      problems.push({ file, line, reason: `${reason} value "${clip(valueText)}"` });
      continue;
    }
    const value = Number(valueText);
    if (!Number.isFinite(value)) {
      problems.push({ file, line, reason: `non-finite value "${valueText}"` });
      continue;
    }
    if (value < 0) {
      problems.push({ file, line, reason: `negative value ${valueText}` });
      continue;
    }
    const seen = byHour.get(ms);
    if (seen) {
      if (seen.value !== value) {
        problems.push({
          file,
          line,
          reason: `duplicate hour ${toIso(ms)} with a different value (${valueText} here, ${seen.value} on line ${seen.line})`,
        });
        conflicted.add(ms);
      }
      continue;
    }
    byHour.set(ms, { value, line });
  }
  // An hour given twice with different values is ambiguous: keep neither.
  for (const ms of conflicted) byHour.delete(ms);
  const rows = [...byHour.entries()]
    .map(([hour, { value }]) => ({ hour, value }))
    .sort((a, b) => a.hour - b.hour);
  return { rows, problems };
}
