import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ModelSpec } from "./config.ts";
import type { ImageGenerator } from "./generator.ts";

export type LoadGenerator = (spec: ModelSpec) => Promise<ImageGenerator>;

export type RegistryStatus =
  | { state: "STARTING" }
  | { state: "READY" }
  | { state: "FAILED"; error: string };

/**
 * The models this service serves, loaded (and warmed up by the loader) at start within a memory
 * budget measured as the size of their ONNX files — a floor for what the sessions will hold.
 */
export class ModelRegistry {
  private readonly generators = new Map<string, ImageGenerator>();
  status: RegistryStatus = { state: "STARTING" };

  constructor(
    private readonly specs: readonly ModelSpec[],
    private readonly load: LoadGenerator,
    private readonly memoryBudgetMb: number,
  ) {}

  /** Loads every model; on failure the registry is FAILED with the reason (health reports it). */
  async loadAll(): Promise<void> {
    try {
      let totalMb = 0;
      for (const spec of this.specs) {
        totalMb += (await folderBytes(spec.dir)) / 2 ** 20;
        if (totalMb > this.memoryBudgetMb) {
          throw new Error(
            `model ${spec.name} brings the ONNX weights to ${totalMb.toFixed(1)} MB, over EASEL_MEMORY_BUDGET_MB=${this.memoryBudgetMb}`,
          );
        }
        this.generators.set(spec.name, await this.load(spec));
      }
      this.status = { state: "READY" };
    } catch (error) {
      this.status = { state: "FAILED", error: (error as Error).message };
      throw error;
    }
  }

  get(name: string): ImageGenerator | undefined {
    return this.generators.get(name);
  }

  list(): ImageGenerator[] {
    return [...this.generators.values()];
  }

  async dispose(): Promise<void> {
    await Promise.all(this.list().map((g) => g.dispose()));
  }
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.(onnx|pb|onnx_data)$/.test(entry.name)) {
      total += (await stat(join(entry.parentPath, entry.name))).size;
    }
  }
  return total;
}
