import { CommanderError } from 'commander';
import { PulseError } from '../core/errors.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { buildProgram } from './program.ts';

type Cleanup = (signal: NodeJS.Signals) => Promise<void>;
const cleanups = new Set<Cleanup>();

/**
 * Work to do when the CLI is interrupted (SIGINT, SIGTERM) before it exits, such as recording this
 * process's open runs as failed. Returns a function that removes it again.
 */
export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

let interrupted = false;
async function interrupt(signal: NodeJS.Signals): Promise<void> {
  if (interrupted) process.exit(EXIT.interrupted); // a second Ctrl-C does not wait
  interrupted = true;
  process.stderr.write(`\npulse: interrupted (${signal}); recording open runs as failed\n`);
  const deadline = new Promise((resolve) => setTimeout(resolve, 5_000).unref());
  await Promise.race([Promise.allSettled([...cleanups].map((c) => c(signal))), deadline]);
  process.exit(signal === 'SIGTERM' ? 128 + 15 : EXIT.interrupted);
}

/** Runs the CLI and returns its exit code (see exit-codes.ts); never throws. */
export async function runCli(argv: readonly string[]): Promise<number> {
  let code: number = EXIT.ok;
  // Whatever else calls process.exit later (a library's exit hook), a failure keeps its code.
  process.on('exit', () => {
    if (code !== EXIT.ok && !process.exitCode) process.exitCode = code;
  });
  process.on('SIGINT', () => void interrupt('SIGINT'));
  process.on('SIGTERM', () => void interrupt('SIGTERM'));
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    code = Number(process.exitCode ?? EXIT.ok);
  } catch (error) {
    code = exitCodeFor(error);
    if (error instanceof CommanderError) return code; // commander has printed its message and the help
    // One clear line for the user; the stack only with --verbose.
    if (program.opts().verbose || !(error instanceof Error)) console.error(error);
    else console.error(`pulse: ${error instanceof PulseError ? '' : `${error.name}: `}${error.message}`);
  }
  return code;
}
