/**
 * A live progress bar on stderr (cli-progress; on a terminal only), and plain log lines
 * that do not tear it. Each phase ends with one summary line.
 */
import { MultiBar, Presets, type SingleBar } from "cli-progress";

const FORMAT = "  {label} {bar} {value}/{total}  {rate} req/s  ok {ok} rej {rejected} err {errors}  {duration}s";

export class Progress {
  private bars: MultiBar | null = null;
  private bar: SingleBar | null = null;
  private label = "";
  /** A timed phase's bar runs over milliseconds, not requests. */
  private timed = false;
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

  /** A bar over `total` requests, or (`timed`) milliseconds. */
  start(label: string, total: number, timed: boolean): void {
    [this.label, this.timed, this.startedAt] = [label, timed, performance.now()];
    if (!this.enabled || !this.live || !process.stderr.isTTY) return;
    this.bars ??= new MultiBar({ format: FORMAT, barsize: 24, fps: 5, clearOnComplete: true }, Presets.shades_classic);
    this.bar = this.bars.create(total, 0, { label, rate: 0, ok: 0, rejected: 0, errors: 0 });
  }

  /** The answers so far, by HTTP status ("200", "409", ...). */
  update(statuses: Record<string, number>): void {
    const done = Object.values(statuses).reduce((s, n) => s + n, 0);
    const elapsed = performance.now() - this.startedAt;
    const [ok, rejected] = [statuses["200"] ?? 0, statuses["409"] ?? 0];
    const errors = done - ok - rejected - (statuses["202"] ?? 0);
    const rate = elapsed > 0 ? Math.round((1000 * done) / elapsed) : 0;
    this.bar?.update(this.timed ? Math.round(elapsed) : done, { label: this.label, rate, ok, rejected, errors });
  }

  /** Ends the bar with a summary line (under `label` when given, else the last phase's). */
  finish(summary: string, label = this.label): void {
    this.bars?.stop();
    [this.bars, this.bar] = [null, null];
    this.log(`  ${label}: ${summary}`);
  }
}
