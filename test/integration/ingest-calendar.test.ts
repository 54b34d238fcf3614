import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createIngestHandler } from '../../src/adapters/lambda/ingest.ts';
import { applySeriesConfig } from '../../src/adapters/postgres/series-config-repository.ts';
import { createPostgresStores } from '../../src/adapters/postgres/stores.ts';
import { EXIT, exitCodeFor } from '../../src/cli/exit-codes.ts';
import { CalendarError, SourceError } from '../../src/core/errors.ts';
import { parseSeriesConfig } from '../../src/core/series-config.ts';
import { runIngest } from '../../src/core/use-cases/run-ingest.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { EPIAS_CONSUMPTION, startFakeEpias } from '../helpers/fake-epias.ts';
import { openTestRuntime, scheduled } from '../helpers/handlers.ts';

// Issue 15, defect 2, at ingest: a series whose zone or country is unusable (stored before the checks, or
// by SQL) is refused where its data would enter, by name, and costs only itself its actuals.
describe('ingest of configured EPİAŞ series, one with a broken calendar', () => {
  const SECRET = 'arn:aws:secretsmanager:eu-central-1:000000000000:secret:epias';
  let db: TestDatabase;
  let epias: Awaited<ReturnType<typeof startFakeEpias>>;
  let runtime: ReturnType<typeof openTestRuntime>;
  const secrets = mockClient(SecretsManagerClient);

  beforeAll(async () => {
    db = await createTestDatabase();
    epias = await startFakeEpias({ username: 'operator@example.com', password: 'p4ss-w0rd!' });
    epias.until = Date.parse('2025-01-01T05:00:00Z');
    secrets.on(GetSecretValueCommand, { SecretId: SECRET }).resolves({
      SecretString: JSON.stringify({ username: 'operator@example.com', password: 'p4ss-w0rd!' }),
    });
    const source = { kind: 'epias', authUrl: epias.baseUrl, apiUrl: epias.baseUrl };
    await applySeriesConfig(
      db.sql,
      parseSeriesConfig({
        series: [
          { name: 'badtz', country: 'TR', timezone: 'Europe/Istanbul', source },
          { name: 'badcc', country: 'TR', timezone: 'Europe/Istanbul', source },
          { name: 'turkey', country: 'TR', timezone: 'Europe/Istanbul', source },
        ],
      }),
    );
    // What the configuration refuses can still be in the table: written before the checks, or by SQL.
    await db.sql`update series set timezone = 'Mars/Olympus' where name = 'badtz'`;
    await db.sql`update series set country = 'ZZ' where name = 'badcc'`;
    runtime = openTestRuntime({
      DATABASE_URL: db.url,
      INGEST_TRAILING_HOURS: '6',
      INGEST_SECRET_ARN: SECRET,
    });
  });
  afterAll(async () => {
    secrets.restore();
    await runtime.close();
    await epias.close();
    await db.drop();
  });

  it('stores the healthy series, refuses each broken one by name before fetching, and fails the run', async () => {
    const handler = createIngestHandler(runtime, undefined, undefined);
    const failure = await handler(scheduled('2025-01-01T06:02:00Z')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SourceError);
    expect((failure as Error).message).toBe(
      'ingest failed for 2 of 3 series: ' +
        'badtz: ingest of series "badtz": time zone "Mars/Olympus" is not an IANA zone (e.g. Europe/Istanbul, America/New_York, UTC); ' +
        'badcc: ingest of series "badcc": country "ZZ" has no holiday calendar (use an ISO code such as TR, US, ES, or none)',
    );
    const stored = await db.sql<{ name: string; n: number }[]>`
      select s.name, count(a.hour)::int as n from series s left join actuals a on a.series_id = s.id
      group by s.name order by s.name`;
    expect(stored).toEqual([
      { name: 'badcc', n: 0 },
      { name: 'badtz', n: 0 },
      { name: 'turkey', n: 6 }, // 00:00 … 05:00 UTC, the 6 trailing hours
    ]);
    // Only the healthy series asked the source for data.
    expect(epias.requestsTo('POST', EPIAS_CONSUMPTION)).toHaveLength(1);
    const runs = await db.sql<{ outcome: string; error: string | null }[]>`
      select outcome, error from runs where function_name = 'ingest' order by id`;
    expect(runs.map((r) => r.outcome).sort()).toEqual(['failed', 'failed', 'success']);
    expect(
      runs
        .filter((r) => r.outcome === 'failed')
        .every((r) => /^ingest of series "bad(tz|cc)"/.test(r.error!)),
    ).toBe(true);
  });

  it('runIngest names the error class: CalendarError, an input error (exit code 2 on the CLI)', async () => {
    const [series] = await createPostgresStores(db.sql).series.findSeries(['badtz']);
    const fetch = vi.fn(async () => []);
    const error = await runIngest(
      createPostgresStores(db.sql),
      { name: 'fake', fetch },
      {
        series: series!,
        now: Date.parse('2025-01-01T06:02:00Z'),
        trigger: 'manual',
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CalendarError);
    expect(exitCodeFor(error)).toBe(EXIT.input);
    expect(fetch).not.toHaveBeenCalled();
  });
});
