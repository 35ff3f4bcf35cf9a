export interface QueuedJob {
  id: string;
  /** Jobs with equal keys can share UNet calls (same model, size, steps, scheduler). */
  batchKey: string;
  enqueuedAt: number;
}

export interface BatchQueueOptions {
  capacity: number;
  maxBatchSize: number;
  /** How long the oldest job may wait for compatible company before it runs alone. */
  maxWaitMs: number;
  /** Off: every batch has one job (for comparison in benchmarks). */
  batching: boolean;
}

/**
 * A bounded FIFO queue that hands out batches of compatible jobs. The oldest job decides the batch;
 * compatible jobs behind it join, up to `maxBatchSize`. A batch is released as soon as it is full,
 * or once the oldest job has waited `maxWaitMs` — so under load (jobs pile up while the engine is
 * busy) batches form with no added wait at all.
 *
 * @example
 * const queue = new BatchQueue({ capacity: 64, maxBatchSize: 8, maxWaitMs: 20, batching: true });
 * if (!queue.tryEnqueue(job)) reply503();
 * const batch = await queue.take();
 */
export class BatchQueue<J extends QueuedJob> {
  private readonly jobs: J[] = [];
  private waiter: (() => void) | null = null;
  private closed = false;
  private readonly options: BatchQueueOptions;

  constructor(options: BatchQueueOptions) {
    if (options.capacity < 1 || options.maxBatchSize < 1 || options.maxWaitMs < 0) {
      throw new RangeError(`BatchQueue: capacity and maxBatchSize must be >= 1 and maxWaitMs >= 0`);
    }
    this.options = options;
  }

  get depth(): number {
    return this.jobs.length;
  }

  get isFull(): boolean {
    return this.jobs.length >= this.options.capacity;
  }

  /** Adds a job unless the queue is full or closed. */
  tryEnqueue(job: J): boolean {
    if (this.closed || this.isFull) return false;
    this.jobs.push(job);
    this.wake();
    return true;
  }

  /** Removes a queued job (cancellation); false if it is not queued. */
  remove(id: string): boolean {
    const index = this.jobs.findIndex((j) => j.id === id);
    if (index < 0) return false;
    this.jobs.splice(index, 1);
    this.wake();
    return true;
  }

  /** 0 for the next job to run; null when not queued. */
  position(id: string): number | null {
    const index = this.jobs.findIndex((j) => j.id === id);
    return index < 0 ? null : index;
  }

  queued(): readonly J[] {
    return this.jobs;
  }

  /** Resolves with the next batch, or with [] once the queue is closed and empty. */
  async take(): Promise<J[]> {
    for (;;) {
      const head = this.jobs[0];
      if (!head) {
        if (this.closed) return [];
        await this.sleep(Number.POSITIVE_INFINITY);
        continue;
      }
      const batch = this.compatibleWith(head);
      const waitLeft = head.enqueuedAt + this.options.maxWaitMs - Date.now();
      if (
        !this.options.batching ||
        batch.length >= this.options.maxBatchSize ||
        waitLeft <= 0 ||
        this.closed
      ) {
        for (const job of batch) this.jobs.splice(this.jobs.indexOf(job), 1);
        return batch;
      }
      await this.sleep(waitLeft);
    }
  }

  /** Stops accepting jobs; `take` drains what is queued, then returns []. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  private compatibleWith(head: J): J[] {
    if (!this.options.batching) return [head];
    const batch: J[] = [];
    for (const job of this.jobs) {
      if (job.batchKey === head.batchKey) batch.push(job);
      if (batch.length === this.options.maxBatchSize) break;
    }
    return batch;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => this.wake(), ms) : undefined;
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }
}
