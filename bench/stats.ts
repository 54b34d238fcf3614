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
