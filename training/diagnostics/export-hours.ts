/**
 * Diagnostic only (issue 16, AEP at 1 h): writes one CSV row per hour of a series as Pulse reads it
 * (readActualsFile + toHourlySeries: bad rows and conflicting duplicate hours dropped, gaps NaN) with
 * the series' calendar as Pulse gives it (local hour, weekday, holiday kind), and a JSON sidecar with
 * the development-year boundaries Pulse's training uses (trainEnd, validationStart, test span), for
 * training/diagnostics/gbt_peer.py. Writes only to the output folder given; nothing here is used by
 * Pulse or its tests.
 *
 *   npx tsx training/diagnostics/export-hours.ts ../shared/data/AEP.csv aep 2016-08-02 2017-08-02 /tmp/peer
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readActualsFile } from '../../src/cli/commands/import.ts';
import { knownCalendar } from '../../src/cli/known-datasets.ts';
import { holidayKind, localHour, dayOfIso, utcOfLocal } from '../../src/core/calendar/index.ts';
import { hourAt, toHourlySeries } from '../../src/core/hourly-series.ts';
import { HOUR_MS, toIso } from '../../src/core/time.ts';
import { trainingBoundaries } from '../../src/core/training-data.ts';

const [file, name, until, testTo, outDir] = process.argv.slice(2);
if (!file || !name || !until || !testTo || !outDir) throw new Error('usage: CSV NAME UNTIL TEST_TO OUT_DIR');
const calendar = knownCalendar(name);
if (!calendar) throw new Error(`no known calendar for ${name}`);
const parsed = await readActualsFile(file);
const series = toHourlySeries(parsed.rows);
const { trainEnd, validationStart } = trainingBoundaries(calendar.timezone, dayOfIso(until), 91);
const testEnd = utcOfLocal(calendar.timezone, dayOfIso(testTo) + 1, 0) - HOUR_MS;
const kinds = { none: 0, holiday: 1, 'half-day': 2, bridge: 3 } as const;
const lines = ['ts_ms,value,local_hour,weekday,local_day,holiday'];
for (let i = 0; i < series.values.length; i++) {
  const t = hourAt(series, i);
  const v = series.values[i]!;
  const lh = localHour(calendar.timezone, t);
  lines.push(
    `${t},${Number.isNaN(v) ? '' : v},${lh.hour},${lh.weekday},${lh.day},${kinds[holidayKind(t, calendar)]}`,
  );
}
await mkdir(outDir, { recursive: true });
await writeFile(join(outDir, `${name}.hours.csv`), lines.join('\n') + '\n');
const bounds = {
  series: name,
  calendar,
  badRows: parsed.problems.length,
  trainEnd,
  validationStart,
  testFrom: trainEnd + HOUR_MS,
  testTo: testEnd,
  iso: {
    trainEnd: toIso(trainEnd),
    validationStart: toIso(validationStart),
    testFrom: toIso(trainEnd + HOUR_MS),
    testTo: toIso(testEnd),
  },
};
await writeFile(join(outDir, `${name}.bounds.json`), JSON.stringify(bounds, null, 2));
console.log(JSON.stringify(bounds.iso), 'bad rows', parsed.problems.length, 'hours', series.values.length);
