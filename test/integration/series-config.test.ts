import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMigrateHandler,
  type MigrateResult,
  type SeriesListing,
} from '../../src/adapters/lambda/migrate.ts';
import { PostgresHolidaysStore } from '../../src/adapters/postgres/holidays-store.ts';
import { applySeriesConfig, listSeriesStates } from '../../src/adapters/postgres/series-config-repository.ts';
import { PostgresSeriesStore } from '../../src/adapters/postgres/series-store.ts';
import { parseSeriesConfig } from '../../src/core/series-config.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { openTestRuntime } from '../helpers/handlers.ts';

const turkey = { name: 'turkey', country: 'TR', timezone: 'Europe/Istanbul', source: { kind: 'epias' } };
const spain = { name: 'spain', country: 'ES', timezone: 'Europe/Madrid' };
const config = (...series: object[]) => parseSeriesConfig({ series });

describe('applySeriesConfig', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  it('creates, then changes nothing on a second run with the same file', async () => {
    expect(await applySeriesConfig(db.sql, config(turkey, spain))).toEqual({
      created: ['spain', 'turkey'],
      updated: [],
      unchanged: [],
      deactivated: [],
      unknownModels: [],
    });
    expect(await applySeriesConfig(db.sql, config(turkey, spain))).toMatchObject({
      created: [],
      updated: [],
      unchanged: ['spain', 'turkey'],
    });
    const rows =
      await db.sql`select name, country, timezone, unit, source, active, configured from series order by name`;
    expect(rows).toEqual([
      {
        name: 'spain',
        country: 'ES',
        timezone: 'Europe/Madrid',
        unit: 'MWh',
        source: null,
        active: true,
        configured: true,
      },
      {
        name: 'turkey',
        country: 'TR',
        timezone: 'Europe/Istanbul',
        unit: 'MWh',
        source: { kind: 'epias' },
        active: true,
        configured: true,
      },
    ]);
  });

  it('updates a changed entry and deactivates a removed one without deleting its data', async () => {
    const [spainId] = await db.sql<{ id: number }[]>`select id from series where name = 'spain'`;
    await db.sql`insert into actuals (series_id, hour, value) values (${spainId!.id}, '2026-01-01T00:00:00Z', 25000)`;
    const applied = await applySeriesConfig(db.sql, config({ ...turkey, unit: 'GWh', active: false }));
    expect(applied).toMatchObject({ updated: ['turkey'], deactivated: ['spain'], unchanged: [] });
    const [spainRow] = await db.sql`select active, configured from series where name = 'spain'`;
    expect(spainRow).toEqual({ active: false, configured: true });
    const [kept] = await db.sql`select count(*)::int as n from actuals where series_id = ${spainId!.id}`;
    expect(kept!.n).toBe(1);
    // Back in the file: active again.
    expect(await applySeriesConfig(db.sql, config(turkey, spain))).toMatchObject({
      updated: ['spain', 'turkey'],
      deactivated: [],
    });
  });

  it('leaves series created by pulse import alone, and reports a model nobody registered', async () => {
    await new PostgresSeriesStore(db.sql).ensureSeries([{ name: 'imported', timezone: 'UTC' }]);
    const applied = await applySeriesConfig(db.sql, config(turkey, { ...spain, model: 'not-registered-v9' }));
    expect(applied.deactivated).toEqual([]);
    expect(applied.unknownModels).toEqual([{ series: 'spain', model: 'not-registered-v9' }]);
    const states = await listSeriesStates(db.sql);
    expect(states.map((s) => [s.name, s.active, s.configured, s.sourceKind, s.modelVersion])).toEqual([
      ['imported', true, false, null, null],
      ['spain', true, true, null, null],
      ['turkey', true, true, 'epias', null],
    ]);
    expect(states.find((s) => s.name === 'spain')!.newestActual).toBe('2026-01-01T00:00:00.000Z');
  });

  it('keeps a promoted champion when the entry names no model, and pins a model the entry names', async () => {
    await db.sql`
      insert into model_versions (version, kind, window_hours, horizons)
      values ('turkey-champion-v2', 'onnx', 336, 24), ('turkey-pinned-v1', 'onnx', 336, 24)`;
    await db.sql`update series set model_version = 'turkey-champion-v2' where name = 'turkey'`;
    expect(await applySeriesConfig(db.sql, config(turkey, spain))).toMatchObject({ updated: [] });
    const modelOf = async () =>
      (await listSeriesStates(db.sql)).find((s) => s.name === 'turkey')!.modelVersion;
    expect(await modelOf()).toBe('turkey-champion-v2');
    expect(
      await applySeriesConfig(db.sql, config({ ...turkey, model: 'turkey-pinned-v1' }, spain)),
    ).toMatchObject({
      updated: ['turkey'],
    });
    expect(await modelOf()).toBe('turkey-pinned-v1');
    await db.sql`update series set model_version = null where name = 'turkey'`;
  });

  it('fills the holidays of the configured countries from the oldest actual to next year', async () => {
    const filled = await new PostgresHolidaysStore(db.sql).fill(Date.parse('2026-12-02T07:00:00Z'));
    expect(filled).toMatchObject({ fromYear: 2026, toYear: 2027 });
    const rows = await db.sql<{ country: string; n: number }[]>`
      select country, count(*)::int as n from holidays
      where starts_at >= '2027-01-01' group by country order by country`;
    expect(rows.map((r) => r.country)).toEqual(['ES', 'TR']);
    const [republic] = await db.sql`
      select starts_at from holidays where country = 'TR' and name = 'Cumhuriyet Bayramı' and starts_at >= '2027-10-28T00:00:00Z' order by starts_at limit 1`;
    // 29 October, local midnight in Istanbul (+03:00).
    expect(republic!.starts_at.toISOString()).toBe('2027-10-28T21:00:00.000Z');
    expect(await new PostgresHolidaysStore(db.sql).fill(Date.parse('2026-12-02T07:00:00Z'))).toMatchObject({
      rows: filled.rows,
    });
  });
});

describe('migrate handler with a series configuration', () => {
  let db: TestDatabase;
  const secrets = mockClient(SecretsManagerClient);
  const suffix = randomBytes(4).toString('hex');
  const dir = mkdtempSync(path.join(tmpdir(), 'pulse-series-config-'));
  const file = path.join(dir, 'pulse.config.json');
  let migrate: (event: unknown) => Promise<MigrateResult | SeriesListing>;

  beforeAll(async () => {
    db = await createTestDatabase();
    const url = new URL(db.url);
    const secret = (username: string, password: string) => ({
      SecretString: JSON.stringify({ username, password }),
    });
    secrets
      .on(GetSecretValueCommand, { SecretId: 'master' })
      .resolves(secret(decodeURIComponent(url.username), url.password || 'unused'));
    secrets.on(GetSecretValueCommand, { SecretId: 'app' }).resolves(secret(`app_${suffix}`, 'App-pass-1'));
    secrets
      .on(GetSecretValueCommand, { SecretId: 'reader' })
      .resolves(secret(`reader_${suffix}`, 'Reader-pass-1'));
    const runtime = openTestRuntime({
      DATABASE_HOST: url.hostname,
      DATABASE_PORT: url.port,
      DATABASE_NAME: db.name,
      DATABASE_SSL: 'disable',
      MASTER_SECRET_ARN: 'master',
      APP_SECRET_ARN: 'app',
      READER_SECRET_ARN: 'reader',
      PULSE_SERIES_CONFIG: file,
    });
    migrate = createMigrateHandler(runtime, () => Date.parse('2026-12-02T07:00:00Z'));
  });
  afterAll(async () => {
    secrets.restore();
    for (const user of [`app_${suffix}`, `reader_${suffix}`])
      await db.sql`drop role if exists ${db.sql(user)}`;
    await db.drop();
  });

  it('applies the file on every deploy and lists the series on a manual invoke', async () => {
    writeFileSync(file, JSON.stringify({ series: [turkey] }));
    const first = (await migrate({})) as MigrateResult;
    expect(first.seriesConfig).toMatchObject({ created: ['turkey'] });
    expect(first.holidays).toMatchObject({ fromYear: 2026, toYear: 2027 });
    expect(first.series.map((s) => s.name)).toEqual(['turkey']);

    writeFileSync(file, JSON.stringify({ series: [spain] }));
    const second = (await migrate({})) as MigrateResult;
    expect(second.seriesConfig).toMatchObject({ created: ['spain'], deactivated: ['turkey'] });

    const listed = await migrate({ mode: 'series' });
    expect(listed).not.toHaveProperty('applied');
    expect(listed.series.map((s) => [s.name, s.active])).toEqual([
      ['spain', true],
      ['turkey', false],
    ]);
  });

  it('fails before touching the database when the file is invalid, naming the entry and field', async () => {
    writeFileSync(file, JSON.stringify({ series: [{ ...spain, timezone: 'Mars/Olympus' }] }));
    await expect(migrate({})).rejects.toThrow(
      `${file}: series[0] "spain": timezone: "Mars/Olympus" is not an IANA time zone`,
    );
    const [row] = await db.sql`select timezone from series where name = 'spain'`;
    expect(row!.timezone).toBe('Europe/Madrid');
  });
});
