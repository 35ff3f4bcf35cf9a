import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FsObjectStore } from "./fs.ts";

describe("FsObjectStore", () => {
  it("stores and reads back bytes, content type and metadata", async () => {
    const store = new FsObjectStore(await mkdtemp(join(tmpdir(), "easel-fs-")));
    const body = new Uint8Array([1, 2, 3]);
    await store.put("a/b/0.png", body, { contentType: "image/png", metadata: { seed: "7" } });
    expect(await store.get("a/b/0.png")).toEqual({
      body,
      contentType: "image/png",
      metadata: { seed: "7" },
    });
  });

  it("leaves no temporary files behind", async () => {
    const root = await mkdtemp(join(tmpdir(), "easel-fs-"));
    const store = new FsObjectStore(root);
    await store.put("x.png", new Uint8Array([1]), { contentType: "image/png" });
    expect((await readdir(root)).sort()).toEqual(["x.png", "x.png.meta.json"]);
  });

  it("returns null for missing objects and has no presigned URLs", async () => {
    const store = new FsObjectStore(await mkdtemp(join(tmpdir(), "easel-fs-")));
    expect(await store.get("missing.png")).toBeNull();
    expect(await store.presignGet("missing.png")).toBeNull();
  });

  it.each(["../escape.png", "/abs.png", "a//b.png", "a/./b.png", "", "sp ace.png"])(
    "rejects the unsafe key %j",
    async (key) => {
      const store = new FsObjectStore(await mkdtemp(join(tmpdir(), "easel-fs-")));
      await expect(
        store.put(key, new Uint8Array([1]), { contentType: "image/png" }),
      ).rejects.toThrow(/invalid object key/);
    },
  );
});
