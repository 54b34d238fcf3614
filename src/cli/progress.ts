/** A one-line progress bar on stderr (a plain line every 10 % when stderr is not a terminal). */
export class ProgressBar {
  private lastPercent = -1;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(
    private readonly label: string,
    private readonly quiet = false,
  ) {}

  update(done: number, total: number, note = ''): void {
    if (this.quiet || total <= 0) return;
    const percent = Math.floor((100 * done) / total);
    if (this.tty) {
      const width = 30;
      const filled = Math.round((width * done) / total);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      process.stderr.write(
        `\r${this.label} ${bar} ${String(percent).padStart(3)}% ${done}/${total} ${note}`.padEnd(100),
      );
      if (done >= total) process.stderr.write('\n');
    } else if (percent >= this.lastPercent + 10 || done >= total) {
      process.stderr.write(`${this.label} ${percent}% (${done}/${total}) ${note}\n`);
      this.lastPercent = percent;
    }
  }
}
