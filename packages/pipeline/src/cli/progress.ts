/**
 * The CLI's progress display on stderr: one line redrawn in place on a terminal, one plain line
 * per step otherwise (logs and CI keep every step readable).
 */
import type { ProgressEvent } from "../pipelines/types.ts";

/** The part of a writable stream the reporter uses. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Returns a progress callback drawing on `stream`, and `done()` to finish the line. */
export function createProgressReporter(stream: ProgressStream): {
  onProgress: (event: ProgressEvent) => void;
  done: () => void;
} {
  const tty = stream.isTTY === true;
  let drawn = false;
  return {
    onProgress(event) {
      const seconds = (event.elapsedMs / 1000).toFixed(1);
      const timestep = Number.isInteger(event.timestep)
        ? event.timestep
        : event.timestep.toFixed(2);
      if (!tty) {
        stream.write(`step ${event.step}/${event.total} (t=${timestep}) ${seconds}s\n`);
        return;
      }
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 40));
      const filled = Math.round((event.step / event.total) * width);
      const bar = "#".repeat(filled) + "-".repeat(width - filled);
      stream.write(`\r\x1b[2K[${bar}] ${event.step}/${event.total} t=${timestep} ${seconds}s`);
      drawn = true;
    },
    done() {
      if (tty && drawn) stream.write("\n");
      drawn = false;
    },
  };
}
