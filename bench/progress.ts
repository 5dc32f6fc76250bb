/**
 * A live progress line on stderr (redrawn in place on a terminal; on a pipe, one line
 * per phase when it ends), and plain log lines that do not tear it.
 */
export interface ProgressCounts {
  done: number;
  ok: number;
  rejected: number;
  errors: number;
}

const BAR_WIDTH = 24;

export class Progress {
  private label = "";
  private total: number | null = null;
  private durationMs: number | null = null;
  private startedAt = 0;
  private counts: ProgressCounts = { done: 0, ok: 0, rejected: 0, errors: 0 };
  private timer: NodeJS.Timeout | undefined;
  private readonly tty: boolean;

  /** `live`: redraw a bar in place (on a terminal); off, each phase prints one line when it ends. */
  constructor(
    private readonly enabled = true,
    live = true,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = live && Boolean(stream.isTTY);
  }

  /** Prints a line above the progress bar. */
  log(line: string): void {
    if (!this.enabled) return;
    if (this.tty && this.timer) this.stream.write("\r\x1b[2K");
    this.stream.write(`${line}\n`);
    if (this.tty && this.timer) this.render();
  }

  start(label: string, opts: { total?: number; durationMs?: number }): void {
    this.label = label;
    this.total = opts.total ?? null;
    this.durationMs = opts.durationMs ?? null;
    this.startedAt = performance.now();
    this.counts = { done: 0, ok: 0, rejected: 0, errors: 0 };
    if (this.enabled && this.tty) {
      this.timer = setInterval(() => this.render(), 200);
      this.timer.unref();
    }
  }

  update(counts: ProgressCounts): void {
    this.counts = counts;
  }

  /** Ends the bar with a summary line (under `label` when given, else the last phase's). */
  finish(summary: string, label = this.label): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.enabled) return;
    if (this.tty) this.stream.write("\r\x1b[2K");
    this.stream.write(`  ${label}: ${summary}\n`);
  }

  private render(): void {
    const elapsed = (performance.now() - this.startedAt) / 1000;
    const { done, ok, rejected, errors } = this.counts;
    let fraction = 0;
    let of = "";
    if (this.total) {
      fraction = done / this.total;
      of = `${done}/${this.total}`;
    } else if (this.durationMs) {
      fraction = (elapsed * 1000) / this.durationMs;
      of = `${done}`;
    }
    fraction = Math.max(0, Math.min(1, fraction));
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = `${"█".repeat(filled)}${"░".repeat(BAR_WIDTH - filled)}`;
    const rate = elapsed > 0 ? Math.round(done / elapsed) : 0;
    const line = `  ${this.label} ${bar} ${of}  ${rate} req/s  ok ${ok} rej ${rejected} err ${errors}  ${elapsed.toFixed(1)}s`;
    const width = this.stream.columns || 120;
    this.stream.write(`\r\x1b[2K${line.slice(0, width - 1)}`);
  }
}
