import { describe, expect, it } from "vitest";
import {
  hmacHex,
  SIGNATURE_HEADERS,
  sha256Hex,
  signRequest,
  timingSafeEqual,
  verifyRequest,
} from "./signing.ts";

const secret = "s3cret";
const headersOf = (h: Record<string, string>) => new Headers(h);

describe("signing primitives", () => {
  it("computes SHA-256 as FIPS 180-2 gives for 'abc'", async () => {
    expect(await sha256Hex("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });

  it("computes HMAC-SHA256 as RFC 4231 test case 2 gives", async () => {
    expect(await hmacHex("Jefe", "what do ya want for nothing?")).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });

  it("compares strings in constant time but correctly", () => {
    expect(timingSafeEqual("abc", "abc")).toBe(true);
    expect(timingSafeEqual("abc", "abd")).toBe(false);
    expect(timingSafeEqual("abc", "abcd")).toBe(false);
  });
});

describe("verifyRequest", () => {
  const body = JSON.stringify({ input: { prompt: "a red circle" } });
  const base = { method: "PUT", path: "/v1/predictions/p1", body, secret };

  it("accepts a request signed with the same secret", async () => {
    const headers = await signRequest({ ...base, timestamp: 1_000_000, nonce: "nonce-123456" });
    const result = await verifyRequest({ ...base, headers: headersOf(headers), now: 1_000_010 });
    expect(result).toEqual({ ok: true, nonce: "nonce-123456", timestamp: 1_000_000 });
  });

  it("rejects a changed body, path, method or secret as a mismatch", async () => {
    const headers = headersOf(await signRequest({ ...base, timestamp: 1_000_000 }));
    const now = 1_000_000;
    for (const change of [
      { body: `${body} ` },
      { path: "/v1/predictions/p2" },
      { method: "POST" },
      { secret: "other" },
    ]) {
      expect(await verifyRequest({ ...base, ...change, headers, now })).toEqual({
        ok: false,
        reason: "mismatch",
      });
    }
  });

  it("rejects signatures outside the five-minute window as stale", async () => {
    const headers = headersOf(await signRequest({ ...base, timestamp: 1_000_000 }));
    expect(await verifyRequest({ ...base, headers, now: 1_000_301 })).toEqual({
      ok: false,
      reason: "stale",
    });
    expect(await verifyRequest({ ...base, headers, now: 999_699 })).toEqual({
      ok: false,
      reason: "stale",
    });
    expect((await verifyRequest({ ...base, headers, now: 1_000_300 })).ok).toBe(true);
  });

  it("reports missing and malformed headers", async () => {
    expect(await verifyRequest({ ...base, headers: headersOf({}) })).toEqual({
      ok: false,
      reason: "missing",
    });
    const signed = await signRequest({ ...base });
    const bad = { ...signed, [SIGNATURE_HEADERS.signature]: "v2=abc" };
    expect(await verifyRequest({ ...base, headers: headersOf(bad) })).toEqual({
      ok: false,
      reason: "malformed",
    });
  });
});
