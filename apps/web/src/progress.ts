import { byId } from "./dom.ts";

type Outcome = "succeeded" | "failed" | "canceled";

/**
 * The live progress card: the latest preview the server streamed, a progress bar, the step count,
 * the job id and the elapsed time. The SDK reports previews with `total: 0`, so the last known
 * total is kept.
 */
export class ProgressView {
  readonly #card = byId("progress", HTMLDivElement);
  readonly #preview = byId("preview", HTMLImageElement);
  readonly #placeholder = byId("preview-placeholder", HTMLDivElement);
  readonly #label = byId("progress-label", HTMLParagraphElement);
  readonly #bar = byId("progress-bar", HTMLProgressElement);
  readonly #steps = byId("progress-steps", HTMLSpanElement);
  readonly #job = byId("progress-job", HTMLSpanElement);
  readonly #time = byId("progress-time", HTMLSpanElement);
  #total = 0;
  #started = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Shows the card in its "submitting" state and starts the clock. */
  start(): void {
    this.#total = 0;
    this.#started = performance.now();
    this.#card.hidden = false;
    this.#card.dataset["state"] = "running";
    this.#preview.hidden = true;
    this.#preview.removeAttribute("src");
    this.#placeholder.hidden = false;
    this.#label.textContent = "Submitting…";
    this.#bar.removeAttribute("value"); // indeterminate until the first step
    this.#steps.textContent = "–";
    this.#job.textContent = "";
    this.#tick();
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#tick(), 100);
  }

  /** The job was accepted. */
  accepted(jobId: string): void {
    this.#label.textContent = "Queued";
    this.#job.textContent = jobId;
  }

  /** A denoising step finished; `preview` is a data URL when the server sent one. */
  step(step: number, total: number, preview?: string): void {
    if (total > 0) this.#total = total;
    this.#label.textContent = "Generating";
    if (this.#total > 0) {
      this.#bar.value = Math.min(1, step / this.#total);
      this.#steps.textContent = `Step ${step} of ${this.#total}`;
    }
    if (preview) this.#showPreview(preview);
  }

  /**
   * Stops the clock and shows how the run ended; `result` (the first image) replaces the preview,
   * which a fast job may not have streamed at all.
   */
  finish(outcome: Outcome, result?: string): void {
    clearInterval(this.#timer);
    this.#tick();
    this.#card.dataset["state"] = outcome;
    if (outcome === "succeeded") {
      this.#bar.value = 1;
      this.#label.textContent = "Done";
      if (result) this.#showPreview(result);
    } else {
      if (!this.#bar.hasAttribute("value")) this.#bar.value = 0;
      this.#label.textContent = outcome === "canceled" ? "Canceled" : "Failed";
    }
  }

  /** Hides the card (a request that was refused before any job existed). */
  hide(): void {
    clearInterval(this.#timer);
    this.#card.hidden = true;
  }

  #showPreview(src: string): void {
    this.#preview.src = src;
    this.#preview.hidden = false;
    this.#placeholder.hidden = true;
  }

  #tick(): void {
    this.#time.textContent = `${((performance.now() - this.#started) / 1000).toFixed(1)} s`;
  }
}
