#!/usr/bin/env -S npx tsx
import { buildProgram } from '../src/cli/program.ts';
import { PulseError } from '../src/core/errors.ts';

const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  // One clear line for the user; the stack only with --verbose.
  if (program.opts().verbose || !(error instanceof Error)) console.error(error);
  else console.error(`pulse: ${error instanceof PulseError ? '' : `${error.name}: `}${error.message}`);
  process.exitCode = error instanceof PulseError && error.name === 'InputError' ? 2 : 1;
}
