import { describe, expect, it } from "vitest";
import { BYTE_CHARS_IN_VOCAB_ORDER, BYTE_TO_CHAR, toByteLevel } from "./byte-level.ts";

describe("byte-level alphabet", () => {
  it("maps printable bytes to themselves and the rest to U+0100 onwards, as GPT-2 does", () => {
    expect(BYTE_TO_CHAR[0x61]).toBe("a");
    expect(BYTE_TO_CHAR[0]).toBe("\u0100");
    expect(BYTE_TO_CHAR[0x20]).toBe("\u0120"); // the familiar "Ġ" for a space
    expect(BYTE_TO_CHAR[0xad]).toBe("\u0143"); // soft hyphen, the last remapped byte
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
  });

  it("lists the characters in vocab.json order: printable bytes first, '!' at id 0", () => {
    expect(BYTE_CHARS_IN_VOCAB_ORDER[0]).toBe("!");
    expect(BYTE_CHARS_IN_VOCAB_ORDER[93]).toBe("~");
    expect(BYTE_CHARS_IN_VOCAB_ORDER[188]).toBe("\u0100");
    expect(BYTE_CHARS_IN_VOCAB_ORDER).toHaveLength(256);
  });

  it("encodes text as its UTF-8 bytes", () => {
    expect(toByteLevel("é")).toBe("Ã©"); // C3 A9
    expect(toByteLevel("a b")).toBe("a\u0120b");
  });
});
