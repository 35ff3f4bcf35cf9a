import { describe, expect, it } from "vitest";
import { BatchQueue, type QueuedJob } from "./batch-queue.ts";

const job = (id: string, batchKey = "k", enqueuedAt = Date.now()): QueuedJob => ({
  id,
  batchKey,
  enqueuedAt,
});

describe("BatchQueue", () => {
  it("refuses jobs beyond its capacity", () => {
    const queue = new BatchQueue({ capacity: 2, maxBatchSize: 4, maxWaitMs: 0, batching: true });
    expect(queue.tryEnqueue(job("a"))).toBe(true);
    expect(queue.tryEnqueue(job("b"))).toBe(true);
    expect(queue.tryEnqueue(job("c"))).toBe(false);
    expect(queue.depth).toBe(2);
  });

  it("batches compatible jobs in FIFO order and leaves the others queued", async () => {
    const queue = new BatchQueue({ capacity: 10, maxBatchSize: 3, maxWaitMs: 0, batching: true });
    for (const [id, key] of [
      ["a", "x"],
      ["b", "y"],
      ["c", "x"],
      ["d", "x"],
      ["e", "x"],
    ] as const) {
      queue.tryEnqueue(job(id, key));
    }
    expect((await queue.take()).map((j) => j.id)).toEqual(["a", "c", "d"]);
    expect((await queue.take()).map((j) => j.id)).toEqual(["b"]);
    expect((await queue.take()).map((j) => j.id)).toEqual(["e"]);
  });

  it("hands out single jobs when batching is off", async () => {
    const queue = new BatchQueue({ capacity: 10, maxBatchSize: 8, maxWaitMs: 50, batching: false });
    queue.tryEnqueue(job("a"));
    queue.tryEnqueue(job("b"));
    expect((await queue.take()).map((j) => j.id)).toEqual(["a"]);
  });

  it("waits up to maxWaitMs for company, then releases a partial batch", async () => {
    const queue = new BatchQueue({ capacity: 10, maxBatchSize: 4, maxWaitMs: 40, batching: true });
    const started = Date.now();
    queue.tryEnqueue(job("a", "k", started));
    setTimeout(() => queue.tryEnqueue(job("b")), 10);
    const batch = await queue.take();
    expect(batch.map((j) => j.id)).toEqual(["a", "b"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
  });

  it("releases a full batch without waiting", async () => {
    const queue = new BatchQueue({
      capacity: 10,
      maxBatchSize: 2,
      maxWaitMs: 10_000,
      batching: true,
    });
    queue.tryEnqueue(job("a"));
    queue.tryEnqueue(job("b"));
    const started = Date.now();
    expect((await queue.take()).length).toBe(2);
    expect(Date.now() - started).toBeLessThan(100);
  });

  it("reports positions and removes canceled jobs", () => {
    const queue = new BatchQueue({ capacity: 10, maxBatchSize: 2, maxWaitMs: 0, batching: true });
    queue.tryEnqueue(job("a"));
    queue.tryEnqueue(job("b"));
    expect(queue.position("b")).toBe(1);
    expect(queue.remove("a")).toBe(true);
    expect(queue.position("b")).toBe(0);
    expect(queue.position("a")).toBeNull();
    expect(queue.remove("a")).toBe(false);
  });

  it("returns an empty batch once closed and drained", async () => {
    const queue = new BatchQueue({ capacity: 10, maxBatchSize: 2, maxWaitMs: 0, batching: true });
    const pending = queue.take();
    queue.close();
    expect(await pending).toEqual([]);
    expect(queue.tryEnqueue(job("late"))).toBe(false);
  });
});
