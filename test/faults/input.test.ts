import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importActuals } from '../../src/cli/commands/import.ts';
import { parseActualsCsv } from '../../src/core/csv.ts';
import { InputError } from '../../src/core/errors.ts';
import { HOUR_MS, toIso } from '../../src/core/time.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import {
  caught,
  expectUnchanged,
  hour,
  loadHandlers,
  runsOf,
  seedSeries,
  snapshotStore,
  tally,
  type Handlers,
} from '../helpers/faults.ts';

/** Property runs: thousands where only parsing is involved, hundreds where each case touches the database. */
const PARSE_RUNS = 3000;
const DB_RUNS = 150;

// ---- CSV lines, each with the reason it must be rejected (null = good) -------------------------------
const hourIso = fc.integer({ min: 0, max: 24 * 400 }).map((i) => toIso(hour(i)));
const goodValue = fc.double({ min: 0, max: 1e7, noNaN: true }).map((v) => String(Math.round(v * 100) / 100));
const impossibleTime = fc.constantFrom(
  '2025-02-30T00:00:00Z',
  '2025-02-29T05:00:00Z', // 2025 is no leap year
  '2025-04-31T10:00:00+03:00',
  '2025-01-01T24:00:00Z',
  '2025-13-01T00:00:00Z',
  '2025-00-10T00:00:00Z',
  '2025-06-01T12:60:00Z',
);

interface Line {
  readonly text: string;
  /** The reason the parser must give, as a pattern; null for a good line. */
  readonly bad: RegExp | null;
}

const badLine: fc.Arbitrary<Line> = fc.oneof(
  fc
    .tuple(
      hourIso,
      goodValue,
      fc.string({ minLength: 0, maxLength: 5 }).filter((x) => !/[,\r\n]/.test(x)),
    )
    .map(([t, v, x]) => ({
      text: `${t},${v},${x}`,
      bad: /^expected 2 fields, found 3$/,
    })),
  hourIso.map((t) => ({ text: t, bad: /^expected 2 fields, found 1$/ })),
  fc
    .tuple(
      fc.string({ maxLength: 20 }).filter((s) => !/[,\r\n]/.test(s) && !/^\d{4}-/.test(s.trim())),
      goodValue,
    )
    .map(([t, v]) => ({
      text: `${t},${v}`,
      bad: /^unparseable timestamp ".*" \(need ISO 8601 with Z or an offset\)$/,
    })),
  fc
    .tuple(hourIso, goodValue)
    .map(([t, v]) => ({ text: `${t.slice(0, -1)},${v}`, bad: /^unparseable timestamp/ })),
  fc.tuple(impossibleTime, goodValue).map(([t, v]) => ({ text: `${t},${v}`, bad: /^invalid date "/ })),
  fc
    .tuple(fc.integer({ min: 0, max: 9000 }), fc.integer({ min: 1, max: 59 }), goodValue)
    .map(([i, m, v]) => ({ text: `${toIso(hour(i) + m * 60_000)},${v}`, bad: /is not on the hour$/ })),
  fc
    .tuple(hourIso, fc.double({ min: 0.001, max: 1e6, noNaN: true }))
    .map(([t, v]) => ({ text: `${t},-${v}`, bad: /^negative value -/ })),
  fc
    .tuple(hourIso, fc.constantFrom('NaN', 'Infinity', '-Infinity', 'inf', '1e400', '-1e999'))
    .map(([t, v]) => ({ text: `${t},${v}`, bad: /^non-finite value "/ })),
  fc.tuple(hourIso, fc.constantFrom('', 'abc', '1,5', '12 MWh', '0x10', '--1', '1e', '½')).map(([t, v]) => ({
    text: `${t},${v}`,
    bad: v.includes(',') ? /^expected 2 fields, found 3$/ : /^unparseable value "/,
  })),
);

/** A file of distinct good hours and bad lines, shuffled; returns what the parser must report. */
const csvFile = fc
  .tuple(
    fc.uniqueArray(fc.integer({ min: 0, max: 24 * 400 }), { maxLength: 30 }),
    fc.array(badLine, { minLength: 1, maxLength: 12 }),
    fc.infiniteStream(fc.nat()),
    fc.constantFrom('\n', '\r\n'),
  )
  .chain(([goodHours, bad, , eol]) =>
    fc
      .shuffledSubarray(
        [...goodHours.map((i, n): Line => ({ text: `${toIso(hour(i))},${1000 + n}`, bad: null })), ...bad],
        { minLength: goodHours.length + bad.length },
      )
      .map((lines) => ({ lines, eol, good: goodHours.length })),
  );

describe('malformed CSV files (property-based)', () => {
  it(`every bad line gets exactly one problem naming its line, good lines are kept (${PARSE_RUNS} files)`, () => {
    fc.assert(
      fc.property(csvFile, ({ lines, eol, good }) => {
        const text = ['ts_utc,value', ...lines.map((l) => l.text)].join(eol);
        const parsed = parseActualsCsv(text, { file: 'upload.csv' });
        const expected = lines.flatMap((l, i) => (l.bad ? [i + 2] : []));
        expect(parsed.problems.map((p) => p.line)).toEqual(expected);
        parsed.problems.forEach((p, i) => {
          expect(p.file).toBe('upload.csv');
          expect(p.reason).toMatch(lines[expected[i]! - 2]!.bad!);
        });
        expect(parsed.rows).toHaveLength(good);
      }),
      { numRuns: PARSE_RUNS },
    );
    tally.cases += PARSE_RUNS;
  });

  it(`a bad header is one InputError naming line 1 (${PARSE_RUNS} headers)`, () => {
    const header = fc.oneof(
      fc.constant(''),
      fc.constant('\uFEFF'),
      fc
        .array(
          fc.stringMatching(/^[a-z_]{1,10}$/).filter((h) => h !== 'ts_utc'),
          { minLength: 1, maxLength: 4 },
        )
        .map((h) => h.join(',')),
      fc.constant('ts_utc'),
    );
    fc.assert(
      fc.property(header, fc.array(badLine, { maxLength: 3 }), (h, rest) => {
        let error: unknown;
        try {
          parseActualsCsv([h, ...rest.map((l) => l.text)].join('\n'), { file: 'upload.csv' });
        } catch (e) {
          error = e;
        }
        expect((error as Error)?.name).toBe('InputError');
        expect((error as Error).message).toMatch(
          /^upload\.csv:1: (the file is empty|no "ts_utc" column|no a value column)/,
        );
      }),
      { numRuns: PARSE_RUNS },
    );
    tally.cases += PARSE_RUNS;
  });
});

describe('malformed input against the database', () => {
  let db: TestDatabase;
  let dir: string;
  let handlers: Handlers;

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedSeries(db.sql, { name: 'grid' }, 24 * 21);
    dir = await mkdtemp(join(tmpdir(), 'pulse-input-'));
    handlers = loadHandlers({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await handlers.resetDatabase();
    await rm(dir, { recursive: true, force: true });
    await db.drop();
  });

  it(`a file of only bad lines changes nothing stored, whatever it claims (${DB_RUNS} imports)`, async () => {
    const before = await snapshotStore(db.sql);
    const file = join(dir, 'grid.csv');
    await fc.assert(
      fc.asyncProperty(fc.array(badLine, { minLength: 1, maxLength: 20 }), async (lines) => {
        await writeFile(file, ['ts_utc,value', ...lines.map((l) => l.text)].join('\n'));
        // Issue 15, defect 6: such a file used to create an empty series; now it is refused as a whole.
        const error = await importActuals(db.sql, file, { series: 'grid' }, hour(24 * 30)).catch((e) => e);
        expect(error).toBeInstanceOf(InputError);
        expect(error.message).toContain(`no line was accepted (${lines.length} rejected)`);
      }),
      { numRuns: DB_RUNS },
    );
    expectUnchanged(before, await snapshotStore(db.sql));
    tally.cases += DB_RUNS - 1;
  });

  // ---- backfill payloads: one valid payload, broken one field at a time ---------------------------------
  const valid = { mode: 'backfill', from: toIso(hour(400)), to: toIso(hour(410)), series: ['grid'] };
  const notATime = fc.oneof(
    fc.string({ maxLength: 30 }).filter((s) => !/^\d{4}-\d{2}-\d{2}T/.test(s)),
    impossibleTime,
    fc.constantFrom('2025-01-01T00:00:00', '2025-01-01', '1735689600000', '2025-01-01T00:00:00+0300', 'now'),
    fc.integer().map((n) => n as unknown as string),
    fc.constantFrom(null, true, [], {}) as fc.Arbitrary<unknown>,
  );
  const notOnHour = fc
    .tuple(fc.integer({ min: 0, max: 9000 }), fc.integer({ min: 1, max: 3599 }))
    .map(([i, s]) => toIso(hour(i) + s * 1000));
  const badSeriesName = fc.oneof(
    fc.constantFrom(
      '',
      ' grid',
      'grid;drop table actuals',
      "grid'--",
      '-grid',
      'a/b',
      'x'.repeat(64),
      'ümlaut',
    ),
    fc.integer() as fc.Arbitrary<unknown>,
  );
  const brokenPayload: fc.Arbitrary<{ payload: unknown; field: RegExp }> = fc.oneof(
    notATime.map((from) => ({ payload: { ...valid, from }, field: /^invalid backfill payload: from: / })),
    notATime.map((to) => ({ payload: { ...valid, to }, field: /^invalid backfill payload: to: / })),
    notOnHour.map((from) => ({ payload: { ...valid, from }, field: /from: must be on the hour/ })),
    fc.integer({ min: 1, max: 5000 }).map((n) => ({
      payload: { ...valid, from: toIso(hour(410 + n)) },
      field: /^invalid backfill payload: from: "from" must not be after "to"$/,
    })),
    fc.constantFrom('from', 'to').map((k) => {
      const { [k as 'from']: _omitted, ...rest } = valid;
      return { payload: rest, field: new RegExp(`^invalid backfill payload: ${k}: `) };
    }),
    badSeriesName.map((name) => ({ payload: { ...valid, series: ['grid', name] }, field: /series\.1: / })),
    fc.constantFrom([], 'grid', { grid: true }, null).map((series) => ({
      payload: { ...valid, series },
      field: /^invalid backfill payload: series: /,
    })),
    fc
      .stringMatching(/^[a-z]{1,12}$/)
      .filter((k) => !['mode', 'from', 'to', 'series'].includes(k))
      .map((k) => ({
        payload: { ...valid, [k]: 1 },
        field: new RegExp(`payload: Unrecognized key: "${k}"`),
      })),
    fc
      .string({ maxLength: 12 })
      .filter((m) => m !== 'backfill' && m !== 'forecast')
      .map((mode) => ({
        payload: { ...valid, mode },
        field: /^invalid forecast event: mode: expected "backfill" or "forecast"/,
      })),
    fc
      .oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 3 }))
      .map((payload) => ({ payload, field: /^invalid forecast event: payload: must be a JSON object$/ })),
  );

  it(`every broken backfill payload gets one InputError naming the field; nothing stored or recorded (${PARSE_RUNS} payloads)`, async () => {
    const before = await snapshotStore(db.sql);
    const runs = await runsOf(db.sql);
    await fc.assert(
      fc.asyncProperty(brokenPayload, async ({ payload, field }) => {
        const error = await caught(() => handlers.forecast(payload));
        expect(error.name).toBe('InputError');
        expect(error.message).toMatch(field);
      }),
      { numRuns: PARSE_RUNS },
    );
    expectUnchanged(before, await snapshotStore(db.sql));
    expect(await runsOf(db.sql)).toEqual(runs);
    tally.cases += PARSE_RUNS - 1;
  });

  it('a backfill longer than a year is refused before anything is written', async () => {
    const before = await snapshotStore(db.sql);
    const error = await caught(() =>
      handlers.forecast({ ...valid, from: toIso(hour(0)), to: toIso(hour(0) + 366 * 24 * HOUR_MS) }),
    );
    expect(error.name).toBe('InputError');
    expect(error.message).toMatch(/is longer than 8784 hours; split it$/);
    expectUnchanged(before, await snapshotStore(db.sql));
  });
});
