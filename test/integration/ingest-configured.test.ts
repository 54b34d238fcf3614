import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestHandler } from '../../src/adapters/lambda/ingest.ts';
import { applySeriesConfig } from '../../src/adapters/postgres/series-config-repository.ts';
import type { Runtime } from '../../src/adapters/runtime.ts';
import { parseSeriesConfig } from '../../src/core/series-config.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { startFakeHttpServer, type FakeHttpServer } from '../helpers/fake-http-server.ts';
import { openTestRuntime, scheduled } from '../helpers/handlers.ts';

describe('ingest of the configured series', () => {
  let db: TestDatabase;
  let meters: FakeHttpServer;
  let runtime: Runtime;

  beforeAll(async () => {
    db = await createTestDatabase();
    meters = await startFakeHttpServer();
    // Plant A answers a CSV; plant B's endpoint is down.
    meters.route('GET', '/a', [
      { status: 200, body: 'hour,mwh\n2025-01-01T00:00:00Z,10.5\n2025-01-01T01:00:00Z,11\n' },
    ]);
    meters.route('GET', '/b', [{ status: 503, body: 'down' }]);
    const http = (p: string) => ({
      kind: 'http',
      url: `${meters.baseUrl}${p}`,
      format: 'csv',
      timeField: 'hour',
      valueField: 'mwh',
    });
    await applySeriesConfig(
      db.sql,
      parseSeriesConfig({
        series: [
          { name: 'plant-a', timezone: 'UTC', source: http('/a') },
          { name: 'plant-b', timezone: 'UTC', source: http('/b') },
          { name: 'plant-c', timezone: 'UTC', source: http('/a'), active: false },
          { name: 'imported-only', timezone: 'UTC' },
        ],
      }),
    );
    runtime = openTestRuntime({ DATABASE_URL: db.url, INGEST_TRAILING_HOURS: '2' });
  });
  afterAll(async () => {
    await runtime.close();
    await meters.close();
    await db.drop();
  });

  it('reads every active series with a source, stores what it got, then fails the run naming the failed series', async () => {
    const handler = createIngestHandler(runtime, undefined, undefined);
    await expect(handler(scheduled('2025-01-01T02:02:00Z'))).rejects.toThrow(
      /ingest failed for 1 of 2 series: plant-b: /,
    );
    const rows = await db.sql<{ name: string; n: number }[]>`
      select s.name, count(a.hour)::int as n from series s left join actuals a on a.series_id = s.id group by s.name order by s.name`;
    expect(rows).toEqual([
      { name: 'imported-only', n: 0 },
      { name: 'plant-a', n: 2 },
      { name: 'plant-b', n: 0 },
      { name: 'plant-c', n: 0 }, // inactive: not read
    ]);
    expect(meters.requestsTo('GET', '/a')).toHaveLength(1);
  });

  it('succeeds once the endpoint is back, and needs no secret for HTTP sources', async () => {
    meters.route('GET', '/b', [{ status: 200, body: 'hour,mwh\n2025-01-01T01:00:00Z,7\n' }]);
    const handler = createIngestHandler(runtime, undefined, undefined);
    const result = await handler(scheduled('2025-01-01T02:02:00Z'));
    expect(result).toMatchObject({
      status: 'ingested',
      series: [
        { name: 'plant-a', inserted: 0, unchanged: 2 },
        { name: 'plant-b', inserted: 1 },
      ],
    });
  });
});
