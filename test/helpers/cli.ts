import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs');
const BIN = join(ROOT, 'bin', 'pulse.ts');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A working directory outside the project: the CLI must not depend on where it is started. */
export function elsewhere(): string {
  return mkdtempSync(join(tmpdir(), 'pulse-cwd-'));
}

/**
 * Runs the real CLI (`bin/pulse.ts`, its exit hooks and all) in a child process and returns its exit code
 * and output. Runs from a temporary directory unless `cwd` says otherwise.
 */
export function runPulse(
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const { child, done } = spawnPulse(args, options);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  return done.finally(() => clearTimeout(timer));
}

/** Starts the real CLI and returns the child, for tests that interrupt it. */
export function spawnPulse(
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, ['--import', TSX, BIN, ...args], {
    cwd: options.cwd ?? elsewhere(),
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}
