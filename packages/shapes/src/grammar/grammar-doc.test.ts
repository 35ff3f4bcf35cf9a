import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { PromptParseError } from "../errors.ts";
import { parsePrompt } from "./parse.ts";

/** The rows of the Markdown table under `heading` in GRAMMAR.md, as cell arrays. */
function table(heading: string): string[][] {
  const doc = readFileSync(resolve(import.meta.dirname, "../../GRAMMAR.md"), "utf8");
  const section = doc.split(`## ${heading}\n`)[1]?.split("\n## ")[0];
  if (section === undefined) throw new Error(`GRAMMAR.md has no section "${heading}"`);
  return section
    .split("\n")
    .filter((line) => line.startsWith("|") && !/^\|\s*-/.test(line))
    .slice(1)
    .map((line) =>
      line
        .split("|")
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

const quoted = (cell: string) => [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1]!);

describe("GRAMMAR.md examples", () => {
  it("maps every canonical example to the spec written beside it", () => {
    const rows = table("Canonical forms");
    expect(rows.length).toBeGreaterThanOrEqual(5);
    for (const [prompt, spec] of rows) {
      const json = quoted(spec!)[0]!.replace(/(\w+):/g, '"$1":');
      expect(parsePrompt(quoted(prompt!)[0]!), prompt).toStrictEqual(JSON.parse(json));
    }
  });

  it("parses every paraphrase to the spec of its canonical form", () => {
    const rows = table("Paraphrases");
    expect(rows.length).toBeGreaterThanOrEqual(8);
    for (const [canonical, paraphrases] of rows) {
      const expected = parsePrompt(quoted(canonical!)[0]!);
      for (const text of quoted(paraphrases!))
        expect(parsePrompt(text), text).toStrictEqual(expected);
    }
  });

  it("gives the documented message for every error example", () => {
    for (const [prompt, message] of table("Errors")) {
      const text = prompt === "(empty)" ? "" : quoted(prompt!)[0]!;
      let error: unknown;
      try {
        parsePrompt(text);
      } catch (err) {
        error = err;
      }
      expect(error, text).toBeInstanceOf(PromptParseError);
      for (const part of quoted(message!)[0]!.split("...")) {
        expect((error as Error).message, text).toContain(part);
      }
    }
  });
});
