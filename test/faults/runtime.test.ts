import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCopyBinary } from '../../src/adapters/postgres/copy-binary.ts';
import { sendCopyData } from '../../src/adapters/postgres/prediction-writes.ts';
import { HOUR_MS, toIso } from '../../src/core/time.ts';
import { createTestDatabase, serverUrl, type TestDatabase } from '../helpers/db.ts';
import { startDatabaseProxy, type DatabaseProxy } from '../helpers/faults-proxy.ts';
import {
  caught,
  expectNothingLost,
  expectUnchanged,
  forecastContent,
  hour,
  loadHandlers,
  runsOf,
  scheduledEvent,
  seedSeries,
  snapshotStore,
  type Handlers,
  AS_OF,
  HISTORY,
} from '../helpers/faults.ts';

describe('the database goes away', () => {
  let db: TestDatabase;
  let proxy: DatabaseProxy;
  let handlers: Handlers;

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedSeries(db.sql, { name: 'grid' }, HISTORY);
    proxy = await startDatabaseProxy(db.url);
    handlers = loadHandlers({ DATABASE_URL: proxy.url(db.name) });
  });
  afterAll(async () => {
    await handlers.resetDatabase();
    await proxy.close();
    await db.drop();
  });

  it('stopped before a run: a clear error, nothing written; the next run catches up and marks the missed hour', async () => {
    expect(await handlers.forecast(scheduledEvent(AS_OF))).toMatchObject({
      okSeries: 1,
      forecastsWritten: 24,
    });
    const before = await snapshotStore(db.sql);
    const runsBefore = await runsOf(db.sql);

    await proxy.stop(); // the open connection is cut and the port refuses new ones
    await db.sql`insert into actuals (series_id, hour, value) select id, ${new Date(hour(HISTORY))}, 30000 from series`;
    const afterInsert = await snapshotStore(db.sql);
    const error = await caught(() => handlers.forecast(scheduledEvent(AS_OF + HOUR_MS)));
    expect(error.name).toBe('DatabaseError');
    expect(error.message).toBe(
      `cannot reach the database at 127.0.0.1:${proxy.port} (ECONNREFUSED); is it running and reachable?`,
    );
    expectUnchanged(afterInsert, await snapshotStore(db.sql));
    expect(await runsOf(db.sql)).toEqual(runsBefore); // nothing could be recorded: the alarm is Lambda's Errors

    // The database is back two hours later; the hour in between had no run.
    await proxy.start();
    await db.sql`insert into actuals (series_id, hour, value) select id, ${new Date(hour(HISTORY + 1))}, 30100 from series`;
    const summary = (await handlers.forecast(scheduledEvent(AS_OF + 2 * HOUR_MS))) as Record<string, unknown>;
    expect(summary).toMatchObject({ okSeries: 1, forecastsWritten: 24, skippedOrigins: 1 });
    const rows = await db.sql<{ origin: Date; quality: string; n: number; issued: Date }[]>`
      select last_input_hour as origin, quality, count(*)::int as n, max(issued_at) as issued from predictions
      group by 1, 2 order by 1`;
    expect(rows.map((r) => [r.origin.getTime(), r.quality, r.n])).toEqual([
      [hour(HISTORY - 1), 'ok', 24],
      [hour(HISTORY), 'missed', 24], // the origin the missed run would have used
      [hour(HISTORY + 1), 'ok', 24],
    ]);
    expect(rows[1]!.issued.getTime()).toBe(AS_OF + 2 * HOUR_MS);
    expectNothingLost(before, await snapshotStore(db.sql));
  });
});

describe('killed in the middle of a write', () => {
  let db: TestDatabase;
  let reference: TestDatabase;
  let handlers: Handlers;
  // 6,000 hours of backfill: two writes (binary COPY), of 3,000 origins × 24 horizons each.
  const ORIGINS = 6000;
  const from = hour(336);
  const to = hour(336 + ORIGINS - 1);
  const payload = { mode: 'backfill', from: toIso(from), to: toIso(to) };

  beforeAll(async () => {
    [db, reference] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    await seedSeries(db.sql, { name: 'grid' }, 336 + ORIGINS);
    await seedSeries(reference.sql, { name: 'grid' }, 336 + ORIGINS);
    // The backend kills itself when the second write statement reaches this row, after thousands of
    // that statement's rows are already inserted: the worst moment for a half-written batch.
    const killAt = new Date(from + 5000 * HOUR_MS).toISOString();
    await db.sql.begin(async (tx) => {
      await tx`
        create function fault_kill() returns trigger language plpgsql as $$
        begin
          if new.last_target_hour = current_setting('fault.kill_at')::timestamptz then
            perform pg_terminate_backend(pg_backend_pid());
            perform pg_sleep(0.5);
          end if;
          return new;
        end $$`;
      await tx`create trigger fault_kill before insert on forecasts for each row execute function fault_kill()`;
    });
    // Read by the function's own session (a new connection sees database-level settings).
    await db.sql.unsafe(`alter database ${db.name} set fault.kill_at = '${killAt}'`); // test-only constants
    handlers = loadHandlers({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await handlers.resetDatabase();
    await Promise.all([db.drop(), reference.drop()]);
  });

  it('the run fails cleanly, no half batch is visible, and the repeated backfill completes it exactly', async () => {
    const before = await snapshotStore(db.sql);
    const error = await caught(() => handlers.forecast(payload));
    expect(error.name).toBe('DatabaseError');
    expect(error.message).toMatch(
      /^lost the connection to the database at 127\.0\.0\.1:\d+ during the run \((CONNECTION_CLOSED|57P01|ECONNRESET)\); each write is all or nothing/,
    );
    const origins = await db.sql<{ n: number; complete: number; runs: number }[]>`
      select count(*)::int as n, count(*) filter (where h = 24)::int as complete, count(distinct run_id)::int as runs
      from (select last_input_hour, count(*)::int as h, min(run_id) as run_id from predictions group by 1) o`;
    // Exactly the first write's 3,000 origins, each with all 24 horizons; nothing of the killed one.
    expect(origins[0]).toEqual({ n: 3000, complete: 3000, runs: 1 });
    const [run] = (await runsOf(db.sql)).slice(-1);
    expect(run).toMatchObject({ function_name: 'backfill', outcome: 'failed' });
    expect(run!.error).toMatch(/CONNECTION_CLOSED|terminating connection/);
    expectNothingLost(before, await snapshotStore(db.sql));

    await db.sql`drop trigger fault_kill on forecasts`;
    const partial = await snapshotStore(db.sql);
    const retry = (await handlers.forecast(payload)) as { forecastsWritten: number; origins: number };
    expect(retry.origins).toBe(ORIGINS);
    expect(retry.forecastsWritten).toBe((ORIGINS - 3000) * 24);
    expectNothingLost(partial, await snapshotStore(db.sql));

    const clean = loadHandlers({ DATABASE_URL: reference.url });
    await clean.forecast(payload);
    await clean.resetDatabase();
    handlers = loadHandlers({ DATABASE_URL: db.url });
    expect(await forecastContent(db.sql)).toEqual(await forecastContent(reference.sql));
    // Three 6,000-hour backfills: about 15 s on a quiet machine, over 60 s when it is shared.
  }, 180_000);
});

describe('the connection cut in the middle of a bulk write (binary COPY)', () => {
  let db: TestDatabase;
  let reference: TestDatabase;
  let proxy: DatabaseProxy;
  let handlers: Handlers;
  // 1,500 hours: one write of 1,500 origins, above COPY_MIN_ORIGINS, so it goes through a COPY.
  const ORIGINS = 1500;
  const payload = { mode: 'backfill', from: toIso(hour(336)), to: toIso(hour(336 + ORIGINS - 1)) };

  beforeAll(async () => {
    [db, reference] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    await seedSeries(db.sql, { name: 'grid' }, 336 + ORIGINS);
    await seedSeries(reference.sql, { name: 'grid' }, 336 + ORIGINS);
    proxy = await startDatabaseProxy(db.url);
    handlers = loadHandlers({ DATABASE_URL: proxy.url(db.name) });
  });
  afterAll(async () => {
    await handlers.resetDatabase();
    await proxy.close();
    await Promise.all([db.drop(), reference.drop()]);
  });

  it('the run fails with the connection error, nothing of the copy is stored, and the retry completes it', async () => {
    const before = await snapshotStore(db.sql);
    // Cut right after the COPY data's signature: the database has the start of the data, not its end.
    const cut = proxy.cutWhenClientSends(Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'));
    const error = await caught(() => handlers.forecast(payload));
    await cut;
    expect(error.name).toBe('DatabaseError');
    expect(error.message).toMatch(
      /^lost the connection to the database at 127\.0\.0\.1:\d+ during the run \((CONNECTION_CLOSED|ECONNRESET|EPIPE)\); each write is all or nothing/,
    );
    expectUnchanged(before, await snapshotStore(db.sql));
    const [run] = (await runsOf(db.sql)).slice(-1);
    expect(run).toMatchObject({ function_name: 'backfill', outcome: 'failed' });

    const retry = (await handlers.forecast(payload)) as { forecastsWritten: number; origins: number };
    expect(retry).toMatchObject({ origins: ORIGINS, forecastsWritten: ORIGINS * 24 });
    const clean = loadHandlers({ DATABASE_URL: reference.url });
    await clean.forecast(payload);
    await clean.resetDatabase();
    expect(await forecastContent(db.sql)).toEqual(await forecastContent(reference.sql));
  });
});

describe('a database error after the end of COPY data', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('ends the wait with a DatabaseError instead of waiting for ever; the transaction is rolled back', async () => {
    // postgres.js does not pass an error that arrives after the end of the data to the stream: data cut
    // short (no trailer) is refused by PostgreSQL only once it has all of it.
    const data = encodeCopyBinary({ id: { type: 'int4', values: [1, 2, 3] } });
    const error = await caught(() =>
      db.sql.begin(async (tx) => {
        await tx`create table copy_target (id int)`;
        const stream = await tx`copy copy_target from stdin (format binary)`.writable();
        await sendCopyData(stream, data.subarray(0, data.length - 6), 3, 1_500);
      }),
    );
    expect(error.name).toBe('DatabaseError');
    expect(error.message).toBe(
      'the database did not confirm the copy of 3 forecast origins within 1.5 s; nothing of it was stored',
    );
    const [table] = await db.sql<
      { exists: boolean }[]
    >`select to_regclass('copy_target') is not null as exists`;
    expect(table!.exists).toBe(false);
    // The pool's connections still work.
    expect(
      await Promise.all(
        [1, 2, 3, 4].map(async (i) => (await db.sql<{ i: number }[]>`select ${i}::int as i`)[0]!.i),
      ),
    ).toEqual([1, 2, 3, 4]);
  });
});

describe('a scheduled run terminated from another connection while it writes', () => {
  let db: TestDatabase;
  let handlers: Handlers;

  beforeAll(async () => {
    db = await createTestDatabase();
    for (const [i, name] of ['east', 'west', 'north'].entries())
      await seedSeries(db.sql, { name }, HISTORY, { seed: i + 1 });
    // The months ahead exist already, as the hourly housekeeping keeps them: the run's insert is what waits.
    await db.sql`select pulse_ensure_partitions(${new Date(hour(0))}, ${new Date(hour(HISTORY + 48))})`;
    handlers = loadHandlers({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await handlers.resetDatabase();
    await db.drop();
  });

  it('its single write is all or nothing; the redelivered event stores the whole run', async () => {
    const before = await snapshotStore(db.sql);
    // Hold the table so the run's insert is caught inside its statement, then terminate that backend.
    const blocker = await db.sql.reserve();
    await blocker`begin`;
    await blocker`lock table forecasts in share mode`;
    const run = caught(() => handlers.forecast(scheduledEvent(AS_OF)));
    let pid: number | undefined;
    while (pid === undefined) {
      const [waiting] = await db.sql<{ pid: number }[]>`
        select pid from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and query like '%insert into forecasts%'`;
      pid = waiting?.pid;
      if (pid === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    await db.sql`select pg_terminate_backend(${pid})`;
    const error = await run;
    await blocker`rollback`;
    blocker.release();
    expect(error.name).toBe('DatabaseError');
    expect(error.message).toMatch(
      /^lost the connection to the database at .* during the run \((57P01|CONNECTION_CLOSED|ECONNRESET)\)/,
    );
    expectUnchanged(before, await snapshotStore(db.sql));
    expect((await runsOf(db.sql)).map((r) => r.outcome)).toEqual(['failed']);

    // EventBridge retries the event: the run completes, whole.
    expect(await handlers.forecast(scheduledEvent(AS_OF))).toMatchObject({
      okSeries: 3,
      forecastsWritten: 72,
    });
    expectNothingLost(before, await snapshotStore(db.sql));
  });
});

describe('authentication failure and secret rotation', () => {
  let db: TestDatabase;
  const role = `pulse_fn_${randomBytes(4).toString('hex')}`;
  const password = `Rot-${randomBytes(12).toString('hex')}`;
  const stalePassword = `Old-${randomBytes(12).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedSeries(db.sql, { name: 'grid' }, HISTORY);
    // The functions' login: a member of pulse_app, as the deployment creates it.
    await db.sql.unsafe(`create role ${role} login password '${password}' in role pulse_app`); // test constants
  });
  afterAll(async () => {
    await db.drop();
    await db.sql.end().catch(() => undefined);
    const admin = (await import('postgres')).default(serverUrl(), { max: 1, onnotice: () => undefined });
    await admin.unsafe(`drop role if exists ${role}`);
    await admin.end();
  });

  async function withSecrets(replies: string[]) {
    const { mockClient } = await import('aws-sdk-client-mock');
    const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const mock = mockClient(SecretsManagerClient);
    const port = new URL(db.url).port;
    const secret = (pw: string) =>
      JSON.stringify({
        username: role,
        password: pw,
        host: '127.0.0.1',
        port: Number(port),
        dbname: db.name,
      });
    let chain = mock.on(GetSecretValueCommand);
    for (const pw of replies.slice(0, -1)) chain = chain.resolvesOnce({ SecretString: secret(pw) });
    chain.resolves({ SecretString: secret(replies.at(-1)!) });
    const handlers = loadHandlers({
      DATABASE_URL: undefined,
      DATABASE_SECRET_ARN: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:pulse-db',
      DATABASE_SSL: 'disable',
      AWS_REGION: 'eu-central-1',
    });
    return { mock, handlers, calls: () => mock.commandCalls(GetSecretValueCommand).length };
  }

  it('a rotated password: the secret is read again once and the run succeeds as a pulse_app member', async () => {
    const { mock, handlers, calls } = await withSecrets([stalePassword, password]);
    try {
      const before = await snapshotStore(db.sql);
      expect(await handlers.forecast(scheduledEvent(AS_OF))).toMatchObject({
        okSeries: 1,
        forecastsWritten: 24,
      });
      expect(calls()).toBe(2);
      expectNothingLost(before, await snapshotStore(db.sql));
      // Evaluation works with the same least-privilege role (deletes rollups, writes evaluations).
      await db.sql`insert into actuals (series_id, hour, value) select id, ${new Date(hour(HISTORY))}, 30000 from series`;
      expect(await handlers.evaluate(scheduledEvent(hour(HISTORY + 1) + 17 * 60_000))).toMatchObject({
        scored: 1,
      });
    } finally {
      await handlers.resetDatabase();
      mock.restore();
    }
  });

  it('a wrong password after the refresh too: one clear error after exactly two reads, nothing written', async () => {
    const { mock, handlers, calls } = await withSecrets([stalePassword]);
    try {
      const before = await snapshotStore(db.sql);
      const error = await caught(() => handlers.forecast(scheduledEvent(AS_OF + HOUR_MS)));
      expect(error.name).toBe('DatabaseError');
      expect(error.message).toBe(
        'database authentication failed twice, also after re-reading the secret; check the credentials and the role',
      );
      expect(error.message).not.toContain(stalePassword.slice(4, 12));
      expect(calls()).toBe(2);
      expectUnchanged(before, await snapshotStore(db.sql));
    } finally {
      await handlers.resetDatabase();
      mock.restore();
    }
  });
});

describe('concurrent and repeated runs', () => {
  let db: TestDatabase;
  let solo: TestDatabase;
  let soloBackfill: TestDatabase;
  const backfill = { mode: 'backfill', from: toIso(hour(HISTORY - 24)), to: toIso(hour(HISTORY)) };

  beforeAll(async () => {
    [db, solo, soloBackfill] = await Promise.all([
      createTestDatabase(),
      createTestDatabase(),
      createTestDatabase(),
    ]);
    for (const d of [db, solo, soloBackfill]) {
      for (const [i, name] of ['east', 'west', 'north'].entries())
        await seedSeries(d.sql, { name }, HISTORY, { seed: i + 1 });
    }
    const one = loadHandlers({ DATABASE_URL: solo.url });
    await one.forecast(scheduledEvent(AS_OF));
    await one.resetDatabase();
    const two = loadHandlers({ DATABASE_URL: soloBackfill.url });
    await two.forecast(backfill);
    await two.resetDatabase();
  });
  afterAll(async () => Promise.all([db.drop(), solo.drop(), soloBackfill.drop()]));

  it('two containers run the same scheduled event at once: the stored result of one run', async () => {
    // Two module instances = two Lambda containers, each with its own connection.
    const a = loadHandlers({ DATABASE_URL: db.url });
    const b = loadHandlers({ DATABASE_URL: db.url });
    const before = await snapshotStore(db.sql);
    const [ra, rb] = (await Promise.all([
      a.forecast(scheduledEvent(AS_OF)),
      b.forecast(scheduledEvent(AS_OF)),
    ])) as {
      forecastsWritten: number;
    }[];
    expect(ra!.forecastsWritten + rb!.forecastsWritten).toBe(3 * 24);
    expect(await forecastContent(db.sql)).toEqual(await forecastContent(solo.sql));
    expectNothingLost(before, await snapshotStore(db.sql));

    // EventBridge delivers the same event again (at-least-once): nothing changes, the run is recorded.
    const stored = await snapshotStore(db.sql);
    expect(await a.forecast(scheduledEvent(AS_OF))).toMatchObject({ forecastsWritten: 0, skippedOrigins: 0 });
    expectUnchanged(stored, await snapshotStore(db.sql));
    const runs = await runsOf(db.sql);
    expect(runs.map((r) => [r.function_name, r.trigger, r.outcome])).toEqual(
      Array.from({ length: 3 }, () => ['forecast', 'schedule', 'success']),
    );
    await Promise.all([a.resetDatabase(), b.resetDatabase()]);
  });

  it('a backfill overlapping the scheduled run: one row per key, each exactly as one of the two alone would store it', async () => {
    await db.sql`delete from scores`;
    await db.sql`delete from forecasts`;
    const a = loadHandlers({ DATABASE_URL: db.url });
    const b = loadHandlers({ DATABASE_URL: db.url });
    await Promise.all([a.forecast(backfill), b.forecast(scheduledEvent(AS_OF))]);
    const [together, scheduled, backfilled] = await Promise.all([
      forecastContent(db.sql),
      forecastContent(solo.sql),
      forecastContent(soloBackfill.sql),
    ]);
    const keys = new Set([...scheduled.keys(), ...backfilled.keys()]);
    expect(together.size).toBe(keys.size);
    const overlap = [...scheduled.keys()].filter((k) => backfilled.has(k));
    expect(overlap).toHaveLength(3 * 24); // both forecast from the newest hour
    for (const [key, row] of together) expect([scheduled.get(key), backfilled.get(key)]).toContain(row);
    await Promise.all([a.resetDatabase(), b.resetDatabase()]);
  });
});
