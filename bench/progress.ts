/**
 * A live progress bar on stderr (cli-progress; on a terminal only), and plain log lines
 * that do not tear it. Each phase ends with one summary line.
 */
import { MultiBar, Presets, type SingleBar } from "cli-progress";

export class Progress {
  private bars: MultiBar | null = null;
  private bar: SingleBar | null = null;
  private label = "";
  private total: number | undefined;
  private startedAt = 0;

  /** `live`: draw a bar (on a terminal); off, each phase prints one line when it ends. */
  constructor(
    private readonly enabled = true,
    private readonly live = true,
  ) {}

  /** Prints a line above the progress bar. */
  log(line: string): void {
    if (!this.enabled) return;
    if (this.bars) this.bars.log(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  }

  /** A bar over `total` units of work, or over `durationMs`. */
  start(label: string, opts: { total?: number; durationMs?: number }): void {
    this.label = label;
    this.total = opts.total;
    this.startedAt = performance.now();
    if (!this.enabled || !this.live || !process.stderr.isTTY) return;
    this.bars ??= new MultiBar(
      {
        format: "  {label} {bar} {done}  {rate} req/s  ok {ok} rej {rejected} err {errors}  {duration}s",
        barsize: 24,
        fps: 5,
        clearOnComplete: true,
        hideCursor: false,
      },
      Presets.shades_classic,
    );
    this.bar = this.bars.create(opts.total ?? opts.durationMs ?? 1, 0, this.payload(0, {}));
  }

  /** The answers so far, by HTTP status ("200", "409", ...). */
  update(statuses: Record<string, number>): void {
    const done = Object.values(statuses).reduce((s, n) => s + n, 0);
    this.bar?.update(
      this.total === undefined ? performance.now() - this.startedAt : done,
      this.payload(done, statuses),
    );
  }

  /** Ends the bar with a summary line (under `label` when given, else the last phase's). */
  finish(summary: string, label = this.label): void {
    this.bars?.stop();
    this.bars = null;
    this.bar = null;
    this.log(`  ${label}: ${summary}`);
  }

  private payload(done: number, statuses: Record<string, number>) {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const ok = statuses["200"] ?? 0;
    const rejected = statuses["409"] ?? 0;
    return {
      label: this.label,
      done: this.total === undefined ? `${done}` : `${done}/${this.total}`,
      rate: seconds > 0 ? Math.round(done / seconds) : 0,
      ok,
      rejected,
      errors: done - ok - rejected - (statuses["202"] ?? 0),
    };
  }
}
