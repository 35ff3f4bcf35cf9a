import { sha256Hex, timingSafeEqual } from "@easel/schema";

/** Per-key limits. */
export interface KeyLimits {
  /** Requests admitted per window. */
  requests: number;
  windowSeconds: number;
  /** Jobs queued or running at once. */
  concurrentJobs: number;
}

export interface ApiKey {
  id: string;
  name: string;
  /** Lowercase hex SHA-256 of the secret token; the token itself is never stored. */
  hash: string;
  limits: KeyLimits;
}

export const DEFAULT_LIMITS: KeyLimits = { requests: 60, windowSeconds: 60, concurrentJobs: 4 };

/** Lowercase hex SHA-256 of a token, synchronously or not. */
export type TokenHasher = (token: string) => string | Promise<string>;

/**
 * Looks up API keys by the SHA-256 of the bearer token. Lookup is by hash (so the token is never
 * kept), and the final comparison is constant-time.
 *
 * `hashToken` defaults to Web Crypto, which every runtime has; on Node, where
 * `crypto.subtle.digest` is a thread-pool job per call (18% of a request's CPU in
 * `pnpm bench:gateway`), the Node entry passes a synchronous `node:crypto` hash instead.
 */
export class KeyStore {
  private readonly byHash = new Map<string, ApiKey>();

  constructor(
    keys: readonly ApiKey[],
    private readonly hashToken: TokenHasher = sha256Hex,
  ) {
    for (const key of keys) {
      if (!/^[0-9a-f]{64}$/.test(key.hash))
        throw new Error(`API key ${key.id}: hash must be 64 hex digits`);
      this.byHash.set(key.hash, key);
    }
  }

  get size(): number {
    return this.byHash.size;
  }

  async verify(token: string): Promise<ApiKey | null> {
    if (token.length < 16 || token.length > 256) return null;
    const hash = await this.hashToken(token);
    const key = this.byHash.get(hash);
    return key && timingSafeEqual(key.hash, hash) ? key : null;
  }
}

/**
 * Parses keys from configuration: a JSON array of `{ id, name, hash | token, limits? }`. `token` is
 * accepted for local development and hashed on load; production configs carry only hashes.
 *
 * @example
 * await parseKeys('[{"id":"k1","name":"ci","token":"sk-local-0123456789abcdef"}]')
 */
export async function parseKeys(json: string): Promise<ApiKey[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error("API keys: configuration is not valid JSON");
  }
  if (!Array.isArray(raw)) throw new Error("API keys: expected a JSON array");
  return await Promise.all(
    raw.map(async (entry: Record<string, unknown>, i) => {
      const id = entry["id"];
      const name = entry["name"] ?? id;
      if (typeof id !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(id))
        throw new Error(`API keys[${i}].id is invalid`);
      const token = entry["token"];
      const hash =
        typeof entry["hash"] === "string"
          ? entry["hash"]
          : typeof token === "string"
            ? await sha256Hex(token)
            : null;
      if (!hash) throw new Error(`API keys[${i}] needs a hash (or a token in development)`);
      const limits = { ...DEFAULT_LIMITS, ...(entry["limits"] as Partial<KeyLimits> | undefined) };
      for (const [field, value] of Object.entries(limits)) {
        if (!Number.isInteger(value) || value < 1)
          throw new Error(`API keys[${i}].limits.${field} must be a positive integer`);
      }
      return { id, name: String(name), hash, limits };
    }),
  );
}
