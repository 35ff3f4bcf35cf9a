/**
 * HMAC-SHA256 request signing between the gateway and inference backends. Web Crypto only, so the
 * same code runs on Workers, Node and in tests.
 *
 * Signed string: `METHOD \n PATH?QUERY \n TIMESTAMP \n NONCE \n hex(sha256(body))`.
 * Headers: `x-easel-timestamp` (unix seconds), `x-easel-nonce`, `x-easel-signature: v1=<hex>`.
 */
export const SIGNATURE_HEADERS = {
  timestamp: "x-easel-timestamp",
  nonce: "x-easel-nonce",
  signature: "x-easel-signature",
} as const;

/** Signatures older or newer than this many seconds are stale. */
export const SIGNATURE_TOLERANCE_S = 300;

const encoder = new TextEncoder();

export interface SignInput {
  method: string;
  /** Path plus query string, exactly as sent. */
  path: string;
  body: Uint8Array | string;
  secret: string;
  /** Unix seconds; defaults to now. */
  timestamp?: number;
  nonce?: string;
}

/**
 * Returns the three headers that sign a request.
 * @example
 * const headers = await signRequest({ method: "PUT", path: "/v1/predictions/abc", body, secret });
 */
export async function signRequest(input: SignInput): Promise<Record<string, string>> {
  const timestamp = String(input.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = input.nonce ?? randomNonce();
  const mac = await hmacHex(
    input.secret,
    await canonical(input.method, input.path, timestamp, nonce, input.body),
  );
  return {
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: `v1=${mac}`,
  };
}

export type VerifyFailure = "missing" | "malformed" | "stale" | "mismatch";
export type VerifyResult =
  | { ok: true; nonce: string; timestamp: number }
  | { ok: false; reason: VerifyFailure };

export interface VerifyInput {
  method: string;
  path: string;
  body: Uint8Array | string;
  headers: { get(name: string): string | null };
  secret: string;
  /** Unix seconds; defaults to now. */
  now?: number;
}

/** Checks a request's signature in constant time. Replay detection (seen nonces) is the caller's. */
export async function verifyRequest(input: VerifyInput): Promise<VerifyResult> {
  const timestamp = input.headers.get(SIGNATURE_HEADERS.timestamp);
  const nonce = input.headers.get(SIGNATURE_HEADERS.nonce);
  const signature = input.headers.get(SIGNATURE_HEADERS.signature);
  if (timestamp === null || nonce === null || signature === null)
    return { ok: false, reason: "missing" };
  if (!/^\d{1,12}$/.test(timestamp) || !/^[A-Za-z0-9_-]{8,128}$/.test(nonce)) {
    return { ok: false, reason: "malformed" };
  }
  const match = /^v1=([0-9a-f]{64})$/.exec(signature);
  if (!match?.[1]) return { ok: false, reason: "malformed" };
  const now = input.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > SIGNATURE_TOLERANCE_S)
    return { ok: false, reason: "stale" };
  const expected = await hmacHex(
    input.secret,
    await canonical(input.method, input.path, timestamp, nonce, input.body),
  );
  if (!timingSafeEqual(expected, match[1])) return { ok: false, reason: "mismatch" };
  return { ok: true, nonce, timestamp: Number(timestamp) };
}

/** Compares two strings without an early exit, so timing does not reveal the common prefix. */
export function timingSafeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  }
  return diff === 0;
}

/** Lowercase hex SHA-256 of text or bytes. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return toHex(
    new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)),
  );
}

/** Lowercase hex HMAC-SHA256. */
export async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message))));
}

async function canonical(
  method: string,
  path: string,
  timestamp: string,
  nonce: string,
  body: Uint8Array | string,
): Promise<string> {
  return `${method.toUpperCase()}\n${path}\n${timestamp}\n${nonce}\n${await sha256Hex(body)}`;
}

function randomNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return toHex(bytes);
}

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
