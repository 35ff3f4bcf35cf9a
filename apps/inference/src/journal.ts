import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Prediction } from "@easel/schema";

/** What the service keeps about a prediction beyond its wire shape. */
export interface PredictionRecord {
  prediction: Prediction;
  /** SHA-256 of the canonical create body: the same id with another body is a conflict. */
  inputHash: string;
  /** How many times a run of this prediction was started (a crash mid-run leaves it at >= 1). */
  attempts: number;
  /** Epoch ms after which the prediction fails with `deadline_exceeded`. */
  deadlineAt: number;
}

/**
 * Durable prediction records: one JSON file per prediction, written to a temporary file, fsynced and
 * renamed into place, so a record on disk is always whole. A prediction is journaled before the
 * service acknowledges it, and at every state change.
 */
export class Journal {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, "predictions");
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  async save(record: PredictionRecord): Promise<void> {
    const path = join(this.dir, `${record.prediction.id}.json`);
    const tmp = `${path}.tmp`;
    const handle = await open(tmp, "w");
    try {
      await handle.writeFile(JSON.stringify(record));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  }

  async remove(id: string): Promise<void> {
    await rm(join(this.dir, `${id}.json`), { force: true });
  }

  /** Every whole record on disk, oldest first; leftover temporary files are removed. */
  async loadAll(): Promise<PredictionRecord[]> {
    const records: PredictionRecord[] = [];
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      if (name.endsWith(".tmp")) {
        await rm(path, { force: true });
        continue;
      }
      if (!name.endsWith(".json")) continue;
      records.push(JSON.parse(await readFile(path, "utf8")) as PredictionRecord);
    }
    return records.sort((a, b) => a.prediction.created_at.localeCompare(b.prediction.created_at));
  }
}
