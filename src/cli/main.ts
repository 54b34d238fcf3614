import { CommanderError, type Command } from 'commander';
import { PulseError } from '../core/errors.ts';
import { emitFailure, jsonOutput, setOutputMode } from './context.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { interrupt } from './interrupt.ts';
import { buildProgram, commandPath } from './program.ts';

/** Runs the CLI and returns its exit code (see exit-codes.ts); never throws. */
export async function runCli(argv: readonly string[]): Promise<number> {
  let code: number = EXIT.ok;
  // Through npm (`npm run pulse`, `npm --prefix DIR run pulse`), file arguments are relative to where the
  // user typed the command (INIT_CWD), not to the project npm changed into.
  const viaNpm = ['pulse', 'start'].includes(process.env.npm_lifecycle_event ?? '');
  if (viaNpm && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
  // Whatever else calls process.exit later (a library's exit hook), a failure keeps its code.
  process.on('exit', () => {
    if (code !== EXIT.ok && !process.exitCode) process.exitCode = code;
  });
  // With --json an interrupted command still leaves its one object on stdout.
  const report = (signal: NodeJS.Signals) => (exitCode: number) => {
    if (jsonOutput())
      emitFailure(Object.assign(new Error(`interrupted by ${signal}`), { name: 'Interrupted' }), exitCode);
  };
  process.on('SIGINT', () => void interrupt('SIGINT', report('SIGINT')));
  process.on('SIGTERM', () => void interrupt('SIGTERM', report('SIGTERM')));
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    code = Number(process.exitCode ?? EXIT.ok);
  } catch (error) {
    code = exitCodeFor(error);
    // With --json a script reads the failure from stdout too. A usage error comes before the action (and
    // its output mode): then the arguments say whether --json was asked for.
    if (code !== EXIT.ok && !jsonOutput() && argv.slice(2).includes('--json'))
      setOutputMode(true, commandWords(program, argv.slice(2)));
    if (code !== EXIT.ok && jsonOutput()) emitFailure(error, code);
    if (error instanceof CommanderError) return code; // commander has printed its message and the help
    // One clear line for the user; the stack only with --verbose.
    if (program.opts().verbose || !(error instanceof Error)) console.error(error);
    else console.error(`pulse: ${error instanceof PulseError ? '' : `${error.name}: `}${error.message}`);
  }
  return code;
}

/** The command a usage error is about (`db status`), as far as the arguments name one. */
function commandWords(program: Command, args: readonly string[]): string {
  let command = program;
  for (const arg of args) {
    if (arg.startsWith('-')) continue;
    const sub = command.commands.find((c) => c.name() === arg);
    if (!sub) break;
    command = sub;
  }
  return commandPath(command);
}
