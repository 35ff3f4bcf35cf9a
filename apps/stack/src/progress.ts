/** What the main job's progress display needs from a stream (process.stderr, or a test double). */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export interface ProgressBar {
  /** Shows a phase without a count ("queued", "loading the model"). */
  status(text: string): void;
  /** Shows `step` of `total`; ignored while `total` is unknown (0). */
  update(step: number, total: number): void;
  /** Clears the bar and prints a final line. */
  done(message: string): void;
}

/**
 * A progress display that stays on one line on a terminal (`\r` + clear-line, redrawn only when
 * the step changes) and writes a few plain lines elsewhere (at 0, 25, 50, 75 and 100 %), so logs
 * and CI output stay readable. Never moves backwards: late or repeated events are dropped.
 *
 * @example
 * const bar = progressBar(process.stderr, "generating");
 * bar.update(3, 10); // generating [#########---------------------]  3/10  30%  0.4 s
 * bar.done("wrote easel.png");
 */
export function progressBar(
  stream: ProgressStream,
  label: string,
  now: () => number = Date.now,
): ProgressBar {
  const tty = stream.isTTY === true;
  const started = now();
  let lastStep = -1;
  let lastTotal = 0;
  let lastQuarter = -1;
  let lineOpen = false;
  const seconds = () => `${((now() - started) / 1000).toFixed(1)} s`;
  const redraw = (text: string) => {
    const width = Math.max(20, (stream.columns || 80) - 1);
    stream.write(`\r\x1b[2K${text.slice(0, width)}`);
    lineOpen = true;
  };
  return {
    status(text) {
      if (tty) redraw(`${label}: ${text}  ${seconds()}`);
      else stream.write(`${label}: ${text}\n`);
    },
    update(step, total) {
      if (total <= 0 || (step <= lastStep && total === lastTotal)) return;
      lastStep = step;
      lastTotal = total;
      const fraction = Math.min(1, Math.max(0, step / total));
      const percent = `${Math.round(fraction * 100)}%`.padStart(4);
      const count = `${String(step).padStart(String(total).length)}/${total}`;
      if (tty) {
        const width = 30;
        const filled = Math.round(fraction * width);
        redraw(
          `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${count} ${percent}  ${seconds()}`,
        );
        return;
      }
      const quarter = Math.floor(fraction * 4);
      if (quarter !== lastQuarter) {
        lastQuarter = quarter;
        stream.write(`${label} ${count} ${percent.trim()}\n`);
      }
    },
    done(message) {
      stream.write(tty && lineOpen ? `\r\x1b[2K${message}\n` : `${message}\n`);
      lineOpen = false;
    },
  };
}
