import { CommanderError } from 'commander';
import { createPostgresStores } from '../adapters/postgres/stores.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { onInterrupt } from './interrupt.ts';
import { openDatabase, type DatabaseHandle } from './local-database.ts';

export interface GlobalOptions {
  readonly verbose?: boolean;
}

/**
 * How results are printed. With --json (every command has it) stdout holds one JSON object and nothing else,
 * always of one shape: `{ "ok", "command", "exitCode", "result" }`, or on failure
 * `{ "ok": false, "command", "exitCode", "error": { "name", "message" } }`; `ok` is `exitCode === 0`, and
 * the process exits with that code. Human lines go to stderr. `pulse serve --json` writes one such object
 * per line, one per job run, each with the job's name and time.
 */
const output = { json: false, command: '' };

/** Set by the program before each command's action (see program.ts). */
export function setOutputMode(json: boolean, command: string): void {
  output.json = json;
  output.command = command;
}

export function jsonOutput(): boolean {
  return output.json;
}

/** A human line: stdout, or stderr with --json so that stdout stays one JSON object. */
export const say = (line: string) => (output.json ? process.stderr : process.stdout).write(line + '\n');
export const note = (line: string) => process.stderr.write(line + '\n');

/**
 * Prints a command's result: the JSON object with --json (for scripts), else the human text. A result that
 * is also a failure (an import with rejected lines) passes its exit code, which the process then exits with.
 */
export function emit(result: object, text: string, exitCode: number = EXIT.ok): void {
  if (exitCode !== EXIT.ok) process.exitCode = exitCode;
  if (output.json) process.stdout.write(JSON.stringify(outcome(exitCode, { result }), null, 2) + '\n');
  else say(text);
}

/** One line of `serve --json`: a job's result, or its failure, at its time. */
export function emitLine(job: string, at: string, done: { result: unknown } | { error: unknown }): void {
  const fields = 'error' in done ? { error: errorFields(done.error) } : done;
  const code = 'error' in done ? exitCodeFor(done.error) : EXIT.ok;
  process.stdout.write(JSON.stringify({ ...outcome(code, {}), job, at, ...fields }) + '\n');
}

/** The failure as JSON on stdout (runCli calls it when the command was run with --json). */
export function emitFailure(error: unknown, exitCode: number): void {
  process.stdout.write(JSON.stringify(outcome(exitCode, { error: errorFields(error) }), null, 2) + '\n');
}

function outcome(exitCode: number, fields: object) {
  return { ok: exitCode === EXIT.ok, command: output.command, exitCode, ...fields };
}

function errorFields(error: unknown): { name: string; message: string } {
  if (error instanceof CommanderError) return { name: 'UsageError', message: error.message };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

/** Opens the database for one command and always closes the connection afterwards. */
export async function withDatabase<T>(work: (db: DatabaseHandle) => Promise<T>): Promise<T> {
  const db = await openDatabase({ log: note });
  // Ctrl-C or a kill: the runs this process holds are recorded as failed before it exits.
  const forget = onInterrupt((signal) =>
    createPostgresStores(db.sql).runs.failOpenRuns(
      `interrupted by ${signal}: the CLI was stopped during the run`,
    ),
  );
  try {
    return await work(db);
  } finally {
    forget();
    await db.close();
  }
}
