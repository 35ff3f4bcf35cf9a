/**
 * A minimal Prometheus registry (text exposition format 0.0.4): counters, gauges and histograms
 * with labels. Small enough to read in one go; no dependency.
 */
type Labels = Record<string, string>;

const labelKey = (labels: Labels) =>
  Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`,
    )
    .join(",");

const braces = (key: string) => (key ? `{${key}}` : "");

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [key, value] of this.values) lines.push(`${this.name}${braces(key)} ${value}`);
    return lines.join("\n");
  }
}

export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}
  render(): string {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} gauge`,
      `${this.name} ${this.read()}`,
    ].join("\n");
  }
}

export class Histogram implements Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}
  observe(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    this.buckets.forEach((le, i) => {
      if (value <= le) s.counts[i] = (s.counts[i] ?? 0) + 1;
    });
    s.sum += value;
    s.count += 1;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [key, s] of this.series) {
      const sep = key ? `${key},` : "";
      this.buckets.forEach((le, i) => {
        lines.push(`${this.name}_bucket{${sep}le="${le}"} ${s.counts[i]}`);
      });
      lines.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${braces(key)} ${s.sum}`);
      lines.push(`${this.name}_count${braces(key)} ${s.count}`);
    }
    return lines.join("\n");
  }
}

/** The service's metrics, by name. */
export function createMetrics(queueDepth: () => number, inFlight: () => number) {
  const metrics = {
    queueDepth: new Gauge("easel_queue_depth", "Predictions waiting in the queue.", queueDepth),
    inFlight: new Gauge(
      "easel_predictions_in_flight",
      "Predictions being generated now.",
      inFlight,
    ),
    batchSize: new Histogram(
      "easel_batch_size",
      "Predictions per UNet batch.",
      [1, 2, 3, 4, 6, 8, 12, 16],
    ),
    stepSeconds: new Histogram(
      "easel_step_seconds",
      "Wall time of one denoising step of a batch (UNet + scheduler).",
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
    requestSeconds: new Histogram(
      "easel_request_seconds",
      "Time from acceptance to completion of a prediction.",
      [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    ),
    images: new Counter("easel_images_total", "Images generated and stored."),
    predictions: new Counter("easel_predictions_total", "Predictions finished, by status."),
    errors: new Counter("easel_errors_total", "Errors, by code."),
  };
  return {
    ...metrics,
    render: () =>
      `${Object.values(metrics)
        .map((m) => m.render())
        .join("\n")}\n`,
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
