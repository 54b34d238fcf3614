import { CommanderError } from 'commander';
import {
  ConfigurationError,
  DatabaseError,
  InputError,
  ModelError,
  NotFoundError,
  PulseError,
  SourceError,
} from '../core/errors.ts';

/**
 * Exit codes of the `pulse` CLI, one per kind of failure, so a script can tell "fix your input" from
 * "the database is down". Documented in the README ("Exit codes").
 */
export const EXIT = {
  ok: 0,
  /** The command ran but failed, or finished with rejected input lines (`import`). */
  failure: 1,
  /** Wrong input: a flag, a file, a name that does not exist. Nothing was changed. */
  input: 2,
  /** Configuration or environment (a missing registry, Chromium, a bad environment variable). */
  configuration: 3,
  /** The database cannot be reached or refused the work. */
  database: 4,
  /** The model is missing or corrupt. */
  model: 5,
  /** An external data source failed. */
  source: 6,
  /** Interrupted by SIGINT (128 + 2) or SIGTERM (128 + 15). */
  interrupted: 130,
} as const;

/** Error class → exit code: classes decide, never name strings. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.input;
  if (error instanceof InputError || error instanceof NotFoundError) return EXIT.input;
  if (error instanceof ConfigurationError) return EXIT.configuration;
  if (error instanceof DatabaseError) return EXIT.database;
  if (error instanceof ModelError) return EXIT.model;
  if (error instanceof SourceError) return EXIT.source;
  if (error instanceof PulseError) return EXIT.failure;
  return EXIT.failure;
}
