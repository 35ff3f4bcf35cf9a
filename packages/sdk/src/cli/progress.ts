/** A one-line progress bar on a TTY; plain lines (one per 25%) elsewhere, so logs stay readable. */
export function progressBar(stream: NodeJS.WriteStream, label: string) {
  const tty = stream.isTTY === true;
  let lastQuarter = -1;
  return {
    update(step: number, total: number) {
      if (total <= 0) return;
      const fraction = Math.min(1, step / total);
      if (tty) {
        const width = 30;
        const filled = Math.round(fraction * width);
        stream.write(
          `\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${step}/${total}`,
        );
      } else {
        const quarter = Math.floor(fraction * 4);
        if (quarter !== lastQuarter) {
          lastQuarter = quarter;
          stream.write(`${label} ${step}/${total}\n`);
        }
      }
    },
    done(message: string) {
      stream.write(tty ? `\r\x1b[2K${message}\n` : `${message}\n`);
    },
  };
}
