import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresActualsStore } from '../../src/adapters/postgres/actuals-store.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { runPulse } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

// Issue 15, defect 2: `import base.csv --series good; import base.csv --series badtz --timezone Mars/Olympus;
// forecast --at 2025-12-31T21:07:00Z` gave every series, the healthy one included, a fallback. Import now
// refuses such a zone (test/faults/import-versions.test.ts); a series stored with one before (or written by
// SQL) must still cost only itself its model forecast.
describe('one bad series never degrades another', () => {
  let db: TestDatabase;
  const end = Date.UTC(2025, 11, 31, 20);
  beforeAll(async () => {
    db = await createTestDatabase();
    const rows = generateSyntheticSeries({ from: end - 30 * 24 * HOUR_MS, to: end, seed: 3 });
    const store = new PostgresActualsStore(db.sql);
    for (const [name, timezone, country] of [
      ['good', 'Europe/Istanbul', 'TR'],
      ['badtz', 'Mars/Olympus', null],
      ['badcc', 'Europe/Istanbul', 'ZZ'],
    ] as const) {
      const [row] = await db.sql<{ id: number }[]>`
        insert into series (name, timezone, country) values (${name}, ${timezone}, ${country}) returning id`;
      await store.upsertActuals(row!.id, rows, end + HOUR_MS);
    }
  });
  afterAll(async () => db.drop());

  it('forecast --at 2025-12-31T21:07:00Z: the healthy series gets the model, the bad ones flagged fallbacks', async () => {
    const result = await runPulse(['forecast', '--at', '2025-12-31T21:07:00Z'], {
      env: { DATABASE_URL: db.url },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT.ok);
    const stored = await db.sql<{ name: string; quality: string; reason: string | null }[]>`
      select s.name, p.quality, p.reason from predictions p join series s on s.id = p.series_id
      where p.horizon = 1 order by s.name`;
    expect(stored).toEqual([
      {
        name: 'badcc',
        quality: 'fallback',
        reason: expect.stringMatching(/^invalid-calendar: country "ZZ" has no holiday calendar/),
      },
      {
        name: 'badtz',
        quality: 'fallback',
        reason: expect.stringMatching(/^invalid-calendar: time zone "Mars\/Olympus" is not an IANA zone/),
      },
      { name: 'good', quality: 'ok', reason: null },
    ]);
  });
});
