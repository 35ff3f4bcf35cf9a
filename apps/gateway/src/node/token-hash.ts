import { createHash } from "node:crypto";

/**
 * SHA-256 of an API token as lowercase hex, synchronously: the Node `KeyStore` hasher (Web
 * Crypto's `digest` is a thread-pool round trip on Node).
 *
 * @example
 * const keys = new KeyStore(apiKeys, sha256HexSync);
 */
export function sha256HexSync(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
