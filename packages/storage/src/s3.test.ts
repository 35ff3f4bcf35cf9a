import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3ObjectStore } from "./s3.ts";
import { StorageError } from "./store.ts";
import { findMotoServer, type S3TestServer, startS3TestServer } from "./testing/s3-server.ts";

const hasServer = findMotoServer() !== null;
if (!hasServer)
  console.warn("skipped S3 store tests: moto_server not installed (scripts/test.sh installs it)");

describe.skipIf(!hasServer)("S3ObjectStore against a real S3-compatible server", () => {
  let server: S3TestServer;
  let store: S3ObjectStore;
  const credentials = { accessKeyId: "test", secretAccessKey: "test" };

  beforeAll(async () => {
    server = await startS3TestServer();
    const client = new S3Client({
      region: "us-east-1",
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials,
    });
    await client.send(new CreateBucketCommand({ Bucket: "easel-test" }));
    store = new S3ObjectStore({
      bucket: "easel-test",
      prefix: "images",
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials,
    });
  });
  afterAll(async () => server?.stop());

  it("stores and reads back bytes, content type and metadata", async () => {
    const body = new Uint8Array([137, 80, 78, 71, 1, 2, 3]);
    await store.put("p1/0.png", body, { contentType: "image/png", metadata: { seed: "42" } });
    const got = await store.get("p1/0.png");
    expect(got?.body).toEqual(body);
    expect(got?.contentType).toBe("image/png");
    expect(got?.metadata).toEqual({ seed: "42" });
  });

  it("returns null for a missing object and after delete", async () => {
    expect(await store.get("nope.png")).toBeNull();
    await store.put("p2/0.png", new Uint8Array([1]), { contentType: "image/png" });
    await store.delete("p2/0.png");
    expect(await store.get("p2/0.png")).toBeNull();
  });

  it("presigns a GET URL that serves the object without credentials", async () => {
    const body = new TextEncoder().encode("hello");
    await store.put("p3/0.txt", body, { contentType: "text/plain" });
    const signed = await store.presignGet("p3/0.txt", 60);
    expect(signed.url).toContain("X-Amz-Signature=");
    expect(signed.expiresAt.getTime()).toBeGreaterThan(Date.now());
    const response = await fetch(signed.url);
    expect(response.status).toBe(200);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(body);
  });

  it("names the operation, the object and the status when the bucket is missing", async () => {
    const missing = new S3ObjectStore({
      bucket: "no-such-bucket",
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials,
    });
    await expect(
      missing.put("x.png", new Uint8Array([1]), { contentType: "image/png" }),
    ).rejects.toThrow(/^PUT s3:\/\/no-such-bucket\/x\.png -> 404$/);
    await expect(
      missing.put("x.png", new Uint8Array([1]), { contentType: "image/png" }),
    ).rejects.toBeInstanceOf(StorageError);
  });
});
