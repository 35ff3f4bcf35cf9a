import {
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import {
  assertValidKey,
  type ObjectStore,
  type PresignedUrl,
  StorageError,
  type StoredObject,
} from "./store.ts";

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, without a trailing slash. Default: none. */
  prefix?: string;
  region?: string;
  /** Custom endpoint for S3-compatible stores (R2, MinIO, a local test server). */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`), needed by most self-hosted S3-compatible servers. */
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** An existing client (tests, custom middleware). Overrides region/endpoint/credentials. */
  client?: S3Client;
}

/**
 * Stores objects in an S3 bucket through @aws-sdk/client-s3. Works with AWS, Cloudflare R2 and any
 * S3-compatible server; checksums are only computed when required so that servers without the
 * newer checksum headers accept the requests.
 *
 * @example
 * const store = new S3ObjectStore({ bucket: "easel-images", endpoint: "http://127.0.0.1:9000", forcePathStyle: true });
 */
export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor({
    bucket,
    prefix = "",
    region = "us-east-1",
    endpoint,
    forcePathStyle = false,
    credentials,
    client,
  }: S3StoreOptions) {
    if (!bucket) throw new StorageError("S3ObjectStore: bucket is required");
    this.bucket = bucket;
    this.prefix = prefix.replace(/\/+$/, "");
    this.location = `s3://${bucket}${this.prefix ? `/${this.prefix}` : ""}`;
    this.client =
      client ??
      new S3Client({
        region,
        forcePathStyle,
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
        ...(endpoint === undefined ? {} : { endpoint }),
        ...(credentials === undefined ? {} : { credentials }),
      });
  }

  async put(
    key: string,
    body: Uint8Array,
    options: { contentType: string; metadata?: Record<string, string> },
  ) {
    await this.send("PUT", key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.keyOf(key),
          Body: body,
          ContentType: options.contentType,
          Metadata: options.metadata,
        }),
      ),
    );
  }

  async get(key: string): Promise<StoredObject | null> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }),
      );
      const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      return {
        body,
        contentType: out.ContentType ?? "application/octet-stream",
        metadata: out.Metadata ?? {},
      };
    } catch (error) {
      if (error instanceof NoSuchKey || statusOf(error) === 404) return null;
      throw this.wrap("GET", key, error);
    }
  }

  async delete(key: string): Promise<void> {
    await this.send("DELETE", key, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) })),
    );
  }

  async presignGet(key: string, expiresInSeconds: number): Promise<PresignedUrl> {
    const url = await getSignedUrl(
      this.client,
      new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }),
      { expiresIn: expiresInSeconds },
    );
    return { url, expiresAt: new Date(Date.now() + expiresInSeconds * 1000) };
  }

  private keyOf(key: string): string {
    assertValidKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private async send(op: string, key: string, run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (error) {
      throw this.wrap(op, key, error);
    }
  }

  private wrap(op: string, key: string, error: unknown): StorageError {
    const status = statusOf(error);
    return new StorageError(
      `${op} ${this.location}/${key} -> ${status ?? (error as Error).message}`,
      { cause: error },
    );
  }
}

function statusOf(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}
