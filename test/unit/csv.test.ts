import { describe, expect, it } from 'vitest';
import { formatProblem, parseActualsCsv } from '../../src/core/csv.ts';

const parse = (text: string, valueColumn?: string) =>
  parseActualsCsv(text, { file: 'load.csv', valueColumn });

describe('parseActualsCsv', () => {
  it('reads hour starts with Z or an offset and converts them to UTC', () => {
    const { rows, problems } = parse(
      'ts_utc,load_mwh\n2025-01-01T00:00:00Z,31000.5\n2025-01-01T04:00:00+03:00,30000\n2025-01-01 02:00:00+0000,29000\n',
    );
    expect(problems).toEqual([]);
    expect(rows).toEqual([
      { hour: Date.UTC(2025, 0, 1, 0), value: 31000.5 },
      { hour: Date.UTC(2025, 0, 1, 1), value: 30000 },
      { hour: Date.UTC(2025, 0, 1, 2), value: 29000 },
    ]);
  });

  it('names file, line and reason for every bad row and keeps the good ones', () => {
    const text = [
      'ts_utc,value',
      '2025-01-01T00:00:00Z,100', // 2 good
      '2025-01-01T01:30:00Z,100', // 3 not on the hour
      'yesterday,100', // 4 unparseable time
      '2025-01-01T02:00:00Z,-5', // 5 negative
      '2025-01-01T03:00:00Z,NaN', // 6 non-finite
      '2025-01-01T04:00:00Z,1e999', // 7 overflows to Infinity
      '2025-01-01T05:00:00Z,abc', // 8 unparseable value
      '2025-01-01T06:00:00Z,100,7', // 9 extra field
      '2025-01-01T07:00', // 10 local time without offset... and a missing field
      '2025-01-01T08:00:00Z,200', // 11 good
      '2025-01-01T08:00:00Z,200', // 12 identical duplicate: harmless
      '2025-01-01T00:00:00Z,150', // 13 duplicate with a different value
    ].join('\n');
    const { rows, problems } = parse(text);
    expect(rows).toEqual([{ hour: Date.UTC(2025, 0, 1, 8), value: 200 }]); // hour 00:00 is ambiguous: neither kept
    expect(problems.map(formatProblem)).toEqual([
      'load.csv:3: timestamp "2025-01-01T01:30:00Z" is not on the hour',
      'load.csv:4: unparseable timestamp "yesterday" (need ISO 8601 with Z or an offset)',
      'load.csv:5: negative value -5',
      'load.csv:6: non-finite value "NaN"',
      'load.csv:7: non-finite value "1e999"',
      'load.csv:8: unparseable value "abc"',
      'load.csv:9: expected 2 fields, found 3',
      'load.csv:10: expected 2 fields, found 1',
      'load.csv:13: duplicate hour 2025-01-01T00:00:00Z with a different value (150 here, 100 on line 2)',
    ]);
  });

  it('uses the value column named by flag', () => {
    const { rows } = parse('region,ts_utc,mw,mwh\nx,2025-01-01T00:00:00Z,1,2\n', 'mwh');
    expect(rows).toEqual([{ hour: Date.UTC(2025, 0, 1), value: 2 }]);
  });

  it('rejects a file without a usable header as a whole', () => {
    expect(() => parse('')).toThrow('load.csv:1: the file is empty');
    expect(() => parse('time,value\n')).toThrow('load.csv:1: no "ts_utc" column');
    expect(() => parse('ts_utc,value\n', 'load')).toThrow('load.csv:1: no "load" column');
  });
});
