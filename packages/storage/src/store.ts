/** Where generated images live. Implementations: {@link FsObjectStore} (default) and {@link S3ObjectStore}. */
export interface ObjectStore {
  /** Human-readable location for logs, e.g. `s3://bucket/prefix` or `file:///var/easel`. */
  readonly location: string;
  put(
    key: string,
    body: Uint8Array,
    options: { contentType: string; metadata?: Record<string, string> },
  ): Promise<void>;
  /** The object's bytes, or `null` when it does not exist. */
  get(key: string): Promise<StoredObject | null>;
  delete(key: string): Promise<void>;
  /**
   * A URL a client can GET without credentials until `expiresAt`, or `null` when the store has no
   * such URLs (a local directory: the service serves those objects itself).
   */
  presignGet(key: string, expiresInSeconds: number): Promise<PresignedUrl | null>;
}

export interface StoredObject {
  body: Uint8Array;
  contentType: string;
  metadata: Record<string, string>;
}

export interface PresignedUrl {
  url: string;
  expiresAt: Date;
}

/** Failures of a store operation; the message names the operation, the object and the status. */
export class StorageError extends Error {
  override readonly name = "StorageError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,1023}$/;

/** Rejects keys that could escape a directory or confuse a URL (`..`, leading `/`, odd characters). */
export function assertValidKey(key: string): void {
  if (
    !KEY_PATTERN.test(key) ||
    key.split("/").some((part) => part === ".." || part === "." || part === "")
  ) {
    throw new StorageError(
      `invalid object key ${JSON.stringify(key)}: use [A-Za-z0-9._-] segments separated by '/'`,
    );
  }
}
