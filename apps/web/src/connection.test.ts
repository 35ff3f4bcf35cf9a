import { describe, expect, it } from "vitest";
import {
  rememberedConnection,
  resolveConnection,
  searchWithoutConnection,
  validateBaseUrl,
} from "./connection.ts";

const stored = JSON.stringify({ baseUrl: "http://stored:1", apiKey: "sk-stored" });

describe("resolveConnection", () => {
  it("prefers the query string over the remembered values and the build-time env", () => {
    const connection = resolveConnection({
      search: "?baseUrl=http%3A%2F%2F127.0.0.1%3A8787&apiKey=sk-query",
      stored,
      env: { baseUrl: "http://env:3", apiKey: "sk-env" },
    });
    expect(connection).toEqual({ baseUrl: "http://127.0.0.1:8787", apiKey: "sk-query" });
  });

  it("fills each field from the strongest source that has it", () => {
    const connection = resolveConnection({
      search: "?baseUrl=http://query:2",
      stored: JSON.stringify({ baseUrl: "http://stored:1" }),
      env: { apiKey: "sk-env" },
    });
    expect(connection).toEqual({ baseUrl: "http://query:2", apiKey: "sk-env" });
  });

  it("lets a changed env default replace the remembered value (a new key from `up`)", () => {
    const remembered = JSON.stringify({
      baseUrl: "http://127.0.0.1:8787",
      apiKey: "sk-typed-by-hand",
      env: { baseUrl: "http://127.0.0.1:8787", apiKey: "sk-old-up" },
    });
    const env = { baseUrl: "http://127.0.0.1:8787", apiKey: "sk-new-up" };
    expect(resolveConnection({ search: "", stored: remembered, env })).toEqual(env);
  });

  it("keeps the remembered value while the env default is the one it was made under", () => {
    const env = { baseUrl: "http://127.0.0.1:8787", apiKey: "sk-up" };
    const remembered = rememberedConnection(
      { baseUrl: "http://other:9", apiKey: "sk-typed-by-hand" },
      env,
    );
    expect(resolveConnection({ search: "", stored: remembered, env })).toEqual({
      baseUrl: "http://other:9",
      apiKey: "sk-typed-by-hand",
    });
  });

  it("treats blank values as absent and ignores a malformed remembered value", () => {
    const connection = resolveConnection({
      search: "?baseUrl=%20&apiKey=",
      stored: "{not json",
      env: { baseUrl: "http://env:3", apiKey: undefined },
    });
    expect(connection).toEqual({ baseUrl: "http://env:3", apiKey: "" });
  });
});

describe("searchWithoutConnection", () => {
  it("removes the key and URL but keeps other parameters", () => {
    expect(searchWithoutConnection("?baseUrl=x&apiKey=sk-1&theme=dark")).toBe("?theme=dark");
    expect(searchWithoutConnection("?apiKey=sk-1")).toBe("");
  });
});

describe("validateBaseUrl", () => {
  it("accepts absolute http and https URLs", () => {
    expect(validateBaseUrl("http://127.0.0.1:8787")).toBeNull();
    expect(validateBaseUrl("https://api.example.com/easel")).toBeNull();
  });

  it("names the problem for a missing, scheme-less, non-http or malformed URL", () => {
    expect(validateBaseUrl("")).toBe("Gateway URL is required");
    expect(validateBaseUrl("localhost:8787")).toBe(
      'Gateway URL must start with http:// or https://, got "localhost:8787"',
    );
    expect(validateBaseUrl("ftp://host")).toBe(
      'Gateway URL must start with http:// or https://, got "ftp://host"',
    );
    expect(validateBaseUrl("http://[::1")).toBe('Gateway URL is not a valid URL: "http://[::1"');
  });
});
