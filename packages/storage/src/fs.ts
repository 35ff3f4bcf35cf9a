import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import {
  assertValidKey,
  type ObjectStore,
  type PresignedUrl,
  StorageError,
  type StoredObject,
} from "./store.ts";

/**
 * Stores objects as files under a root directory, with a `.meta.json` sidecar for the content type
 * and metadata. Writes go to a temporary file first and are renamed into place, so a crash never
 * leaves a half-written image under its final key.
 *
 * @example
 * const store = new FsObjectStore(".easel/images");
 * await store.put("p1/0.png", bytes, { contentType: "image/png" });
 */
export class FsObjectStore implements ObjectStore {
  readonly root: string;
  readonly location: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.location = `file://${this.root}`;
  }

  async put(
    key: string,
    body: Uint8Array,
    options: { contentType: string; metadata?: Record<string, string> },
  ) {
    const path = this.pathOf(key);
    const meta = JSON.stringify({
      contentType: options.contentType,
      metadata: options.metadata ?? {},
    });
    try {
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(tmp, body);
      await writeFile(`${path}.meta.json`, meta);
      await rename(tmp, path);
    } catch (error) {
      throw new StorageError(`PUT ${this.location}/${key} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async get(key: string): Promise<StoredObject | null> {
    const path = this.pathOf(key);
    try {
      const [body, meta] = await Promise.all([
        readFile(path),
        readFile(`${path}.meta.json`, "utf8"),
      ]);
      const parsed = JSON.parse(meta) as { contentType: string; metadata: Record<string, string> };
      return {
        body: new Uint8Array(body),
        contentType: parsed.contentType,
        metadata: parsed.metadata,
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw new StorageError(`GET ${this.location}/${key} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    await rm(path, { force: true });
    await rm(`${path}.meta.json`, { force: true });
  }

  /** Local files have no presigned URLs: the inference service serves them itself. */
  async presignGet(key: string): Promise<PresignedUrl | null> {
    assertValidKey(key);
    return null;
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    return join(this.root, key);
  }
}
