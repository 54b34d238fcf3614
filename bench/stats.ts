import { readFile } from 'node:fs/promises';
import type { Sql } from '../src/adapters/postgres/client.ts';

/** Median and spread of repeated measurements: one number is never enough on a shared machine. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly p10: number;
  readonly p90: number;
  readonly runs: number[];
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 1) return sorted[0]!;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError('no measurements');
  const sorted = [...values].sort((a, b) => a - b);
  const round = (x: number) => Number(x.toPrecision(5));
  return {
    median: round(quantile(sorted, 0.5)),
    min: round(sorted[0]!),
    max: round(sorted[sorted.length - 1]!),
    p10: round(quantile(sorted, 0.1)),
    p90: round(quantile(sorted, 0.9)),
    runs: values.map(round),
  };
}

export interface TimingOptions {
  readonly repetitions: number;
  /** Unmeasured runs first (JIT, prepared statements, caches), as in a warm Lambda container. */
  readonly warmup?: number;
  /** Work before each run that is not measured (e.g. clearing the previous run's rows). */
  readonly before?: (run: number) => Promise<void> | void;
}

/** Runs `work` several times and returns the milliseconds of each measured run. */
export async function timeRuns(
  options: TimingOptions,
  work: (run: number) => Promise<unknown>,
): Promise<Spread> {
  const runs: number[] = [];
  const total = (options.warmup ?? 0) + options.repetitions;
  for (let i = 0; i < total; i++) {
    await options.before?.(i);
    const t0 = performance.now();
    await work(i);
    const ms = performance.now() - t0;
    if (i >= (options.warmup ?? 0)) runs.push(ms);
  }
  return spreadOf(runs);
}

/**
 * High-water mark of the resident set size while a section runs. process.resourceUsage().maxRSS only
 * ever grows for the whole process, so a section samples rss itself (every few ms and at its end).
 */
export class RssHighWater {
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;

  start(): this {
    this.peak = process.memoryUsage.rss();
    this.timer = setInterval(() => this.sample(), 5);
    this.timer.unref();
    return this;
  }

  sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }

  /** Stops sampling; the peak in MB. */
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return this.peak / 1024 / 1024;
  }
}

export const MB = 1024 * 1024;

/**
 * CPU milliseconds used so far by the database server's processes, when it runs on this machine (the
 * bench's own server): /proc/<pid>/stat of every process pg_stat_activity lists (backends and
 * background workers). Null when a process cannot be read there (a remote server, another OS).
 */
export async function serverCpuMs(sql: Sql): Promise<number | null> {
  const pids = await sql<{ pid: number }[]>`select pid from pg_stat_activity`;
  let total = 0;
  for (const { pid } of pids) {
    let stat: string;
    try {
      if ((await readFile(`/proc/${pid}/comm`, 'utf8')).trim() !== 'postgres') return null;
      stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return null;
    }
    // Fields after the command's closing parenthesis; utime and stime are the 14th and 15th of the line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  }
  return total;
}

/** USER_HZ, the unit of /proc's CPU times: 100 on every Linux that Node runs on. */
const CLOCK_TICKS_PER_S = 100;

/** CPU milliseconds this process (all its threads, ONNX Runtime's included) used so far. */
export function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
