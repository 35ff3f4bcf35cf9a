import { createHash } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { MemoryJobStore } from "./memory-store.ts";
import type { JobRecord } from "./store.ts";

/**
 * The Node gateway's durable JobStore: the memory store, with every change written through to a
 * directory (one fsynced JSON file per job and per idempotency key, renamed into place). Records
 * survive a restart; one gateway process owns a directory.
 */
export class FileJobStore extends MemoryJobStore {
  private readonly jobsDir: string;
  private readonly idemDir: string;

  private constructor(dir: string) {
    super();
    this.jobsDir = join(dir, "jobs");
    this.idemDir = join(dir, "idempotency");
  }

  static async open(dir: string): Promise<FileJobStore> {
    const store = new FileJobStore(dir);
    await mkdir(store.jobsDir, { recursive: true });
    await mkdir(store.idemDir, { recursive: true });
    for (const name of await readdir(store.jobsDir)) {
      if (!name.endsWith(".json")) continue;
      const job = JSON.parse(await readFile(join(store.jobsDir, name), "utf8")) as JobRecord;
      store.jobs.set(job.id, job);
    }
    for (const name of await readdir(store.idemDir)) {
      if (!name.endsWith(".json")) continue;
      const entry = JSON.parse(await readFile(join(store.idemDir, name), "utf8")) as {
        slot: string;
        bodyHash: string;
        jobId: string | null;
      };
      // A claim whose job never got created died with the process: drop it so the client can retry.
      if (entry.jobId === null) await rm(join(store.idemDir, name), { force: true });
      else store.idempotency.set(entry.slot, { bodyHash: entry.bodyHash, jobId: entry.jobId });
    }
    return store;
  }

  protected override async persistJob(id: string): Promise<void> {
    const job = this.jobs.get(id);
    const path = join(this.jobsDir, `${id}.json`);
    if (!job) await rm(path, { force: true });
    else await writeAtomic(path, JSON.stringify(job));
  }

  protected override async persistIdempotency(slot: string): Promise<void> {
    const entry = this.idempotency.get(slot);
    const path = join(this.idemDir, `${createHash("sha256").update(slot).digest("hex")}.json`);
    if (!entry) await rm(path, { force: true });
    else await writeAtomic(path, JSON.stringify({ slot, ...entry }));
  }
}

let sequence = 0;

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${++sequence}.tmp`;
  const handle = await open(tmp, "w");
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}
