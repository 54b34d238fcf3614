import { EXIT } from './exit-codes.ts';

type Cleanup = (signal: NodeJS.Signals) => Promise<unknown>;
const cleanups = new Set<Cleanup>();
let interrupted = false;

/**
 * Work to do when the CLI is interrupted (SIGINT, SIGTERM) before it exits, such as recording this
 * process's open runs as failed. Returns a function that removes it again.
 */
export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/**
 * Runs the cleanups (at most 5 s), then `report`s the exit code and exits 130 (SIGINT) or 143 (SIGTERM); a
 * second signal exits at once.
 */
export async function interrupt(
  signal: NodeJS.Signals,
  report: (code: number) => void = () => undefined,
): Promise<void> {
  const code = signal === 'SIGTERM' ? 128 + 15 : EXIT.interrupted;
  if (interrupted) process.exit(code);
  interrupted = true;
  process.stderr.write(
    `\npulse: interrupted (${signal})${cleanups.size ? '; recording open runs as failed' : ''}\n`,
  );
  const deadline = new Promise((resolve) => setTimeout(resolve, 5_000).unref());
  await Promise.race([Promise.allSettled([...cleanups].map((c) => c(signal))), deadline]);
  report(code);
  process.exit(code);
}
