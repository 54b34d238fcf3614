import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresActualsStore } from '../../src/adapters/postgres/actuals-store.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { generateSyntheticSeries } from '../../src/core/synthetic.ts';
import { HOUR_MS } from '../../src/core/time.ts';
import { runPulse, spawnPulse } from '../helpers/cli.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { startDatabaseProxy, type DatabaseProxy } from '../helpers/faults-proxy.ts';

const END = Date.UTC(2025, 11, 31, 23);

/** Waits until a run of `functionName` is recorded as running; returns its id. */
async function runningRun(db: TestDatabase, functionName: string): Promise<string> {
  for (let i = 0; i < 3000; i++) {
    const [row] = await db.sql<{ id: string }[]>`
      select id from runs where function_name = ${functionName} and outcome = 'running' order by id desc limit 1`;
    if (row) return row.id;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no ${functionName} run started`);
}

const runById = async (db: TestDatabase, id: string) =>
  (
    await db.sql<
      { outcome: string; error: string | null }[]
    >`select outcome, error from runs where id = ${id}`
  )[0]!;

// Issue 15, defect 3: a run killed from the CLI path (kill -9 of the database during `pulse backfill`) stayed
// `running` for ever, so the "failed and partial runs" panel never showed it.
describe('runs killed from the CLI are closed or reaped', () => {
  let db: TestDatabase;
  let proxy: DatabaseProxy;
  beforeAll(async () => {
    db = await createTestDatabase();
    proxy = await startDatabaseProxy(db.url);
    const store = new PostgresActualsStore(db.sql);
    for (const [i, name] of ['east', 'west', 'north'].entries()) {
      const [row] = await db.sql<{ id: number }[]>`
        insert into series (name, timezone, country) values (${name}, 'Europe/Istanbul', 'TR') returning id`;
      const rows = generateSyntheticSeries({ from: END - 400 * 24 * HOUR_MS, to: END, seed: i + 1 });
      await store.upsertActuals(row!.id, rows, END + HOUR_MS);
    }
  });
  afterAll(async () => {
    await proxy.close();
    await db.drop();
  });

  // A year of three series in one chunk: a run of some seconds, long enough to be cut in the middle.
  const backfill = ['backfill', '--from', '2025-01-01', '--to', '2025-12-31', '--chunk-days', '400'];

  it('the database dies during pulse backfill: the run is recorded failed by the next run', async () => {
    const { done } = spawnPulse(backfill, { env: { DATABASE_URL: proxy.url(db.name) } });
    const id = await runningRun(db, 'backfill');
    await proxy.stop(); // every connection of the CLI is cut; new ones are refused
    const killed = await done;
    expect(killed.code).toBe(EXIT.database);
    expect((await runById(db, id)).outcome).toBe('running'); // the CLI could not record its outcome

    await proxy.start();
    const next = await runPulse(['forecast', '--series', 'east', '--at', '2026-01-01T00:07:00Z', '--json'], {
      env: { DATABASE_URL: proxy.url(db.name) },
    });
    expect(next.code).toBe(EXIT.ok);
    expect(await runById(db, id)).toEqual({
      outcome: 'failed',
      error: expect.stringMatching(/abandoned: the process running it \(pulse .*\) ended without recording/),
    });
  });

  it('Ctrl-C during pulse backfill --json records the run as failed, prints the failure and exits 130', async () => {
    const { child, done } = spawnPulse([...backfill, '--restart', '--json'], {
      env: { DATABASE_URL: db.url },
    });
    const id = await runningRun(db, 'backfill');
    child.kill('SIGINT');
    const stopped = await done;
    expect(stopped.code).toBe(EXIT.interrupted);
    expect(stopped.stderr).toMatch(/interrupted \(SIGINT\); recording open runs as failed/);
    expect(JSON.parse(stopped.stdout)).toEqual({
      ok: false,
      command: 'backfill',
      exitCode: EXIT.interrupted,
      error: { name: 'Interrupted', message: 'interrupted by SIGINT' },
    });
    expect(await runById(db, id)).toEqual({
      outcome: 'failed',
      error: 'interrupted by SIGINT: the CLI was stopped during the run',
    });
  });
});
