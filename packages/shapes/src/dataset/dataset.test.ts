import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ShapesError } from "../errors.ts";
import { detectObjects } from "../evaluate/evaluate.ts";
import { canonicalCaption } from "../grammar/caption.ts";
import { parsePrompt } from "../grammar/parse.ts";
import { rasterize } from "../render/index.ts";
import { type SceneSpec, sceneObjects } from "../spec.ts";
import { PALETTE } from "../world.ts";
import { evalPromptSet } from "./eval-set.ts";
import { generateDataset } from "./generate.ts";
import { writeDataset } from "./write.ts";

/** The held-out rule, restated here independently of `isHeldOut`. */
function heldOutByRule(spec: SceneSpec): boolean {
  const objects = spec.form === "relation" ? [spec.subject, spec.reference] : [spec.object];
  const pairs = new Set(["purple triangle", "orange circle", "green star", "red square"]);
  if (objects.some((o) => pairs.has(`${o.colour} ${o.shape}`))) return true;
  if (spec.form !== "relation") return false;
  const top =
    spec.relation === "above"
      ? spec.subject
      : spec.relation === "below"
        ? spec.reference
        : undefined;
  const bottom =
    spec.relation === "above"
      ? spec.reference
      : spec.relation === "below"
        ? spec.subject
        : undefined;
  return top?.colour === "yellow" && bottom?.colour === "blue";
}

const HELD_OUT_WORDS = /\b(purple triangles?|orange circles?|green stars?|red squares?)\b/;

describe("generateDataset", () => {
  it("is deterministic by seed, and item i does not depend on the dataset length", () => {
    const a = [...generateDataset({ count: 20, seed: 42, split: "train" })];
    const b = [...generateDataset({ count: 10, seed: 42, split: "train" })];
    const tail = [...generateDataset({ count: 5, seed: 42, split: "train", start: 15 })];
    const c = [...generateDataset({ count: 20, seed: 43, split: "train" })];
    const key = (items: typeof a) =>
      items.map((i) => `${i.index}|${i.caption}|${Buffer.from(i.image.data).toString("base64")}`);
    expect(key(b)).toEqual(key(a).slice(0, 10));
    expect(key(tail)).toEqual(key(a).slice(15));
    expect(key(c)).not.toEqual(key(a));
    expect(a.map((i) => i.caption)).toEqual(
      [...generateDataset({ count: 20, seed: 42, split: "train" })].map((i) => i.caption),
    );
  });

  it("never emits a held-out scene or caption in 20,000 training samples", () => {
    const violations: string[] = [];
    let relations = 0;
    let n = 0;
    for (const item of generateDataset({ count: 20_000, seed: 2024, split: "train" })) {
      const parsed = parsePrompt(item.caption);
      if (
        heldOutByRule(item.spec) ||
        heldOutByRule(parsed) ||
        HELD_OUT_WORDS.test(item.caption) ||
        JSON.stringify(parsed) !== JSON.stringify(item.spec)
      ) {
        violations.push(item.caption);
      }
      if (item.spec.form === "relation") relations++;
      // The evaluator must find no held-out pair in the pictures either.
      if (n++ < 300) {
        for (const found of detectObjects(item.image)) {
          if (HELD_OUT_WORDS.test(`${found.colour} ${found.shape}`)) violations.push(item.caption);
        }
      }
    }
    expect(violations).toEqual([]);
    expect(relations).toBeGreaterThan(5000);
  });

  it("emits only held-out scenes in the heldout split, of every kind", () => {
    const kinds = new Set<string>();
    for (const item of generateDataset({ count: 3000, seed: 7, split: "heldout" })) {
      expect(heldOutByRule(item.spec), item.caption).toBe(true);
      const pair = HELD_OUT_WORDS.exec(item.caption)?.[1]?.replace(/s$/, "");
      kinds.add(pair ?? "yellow above blue");
    }
    expect([...kinds].sort()).toEqual(
      ["green star", "orange circle", "purple triangle", "red square", "yellow above blue"].sort(),
    );
  });

  it("mixes canonical captions and paraphrases, all canonical at paraphraseRate 0", () => {
    const items = [...generateDataset({ count: 500, seed: 1, split: "all" })];
    const canonical = items.filter((i) => i.caption === canonicalCaption(i.spec)).length;
    expect(canonical).toBeGreaterThan(200);
    expect(canonical).toBeLessThan(450);
    for (const item of generateDataset({ count: 200, seed: 1, split: "all", paraphraseRate: 0 })) {
      expect(item.caption).toBe(canonicalCaption(item.spec));
    }
  });

  it("gives the layout each image was drawn from, objects in spec order", () => {
    let relations = 0;
    for (const item of generateDataset({ count: 400, seed: 21, split: "all" })) {
      expect(Buffer.from(rasterize(item.layout).data).equals(Buffer.from(item.image.data))).toBe(
        true,
      );
      const named = sceneObjects(item.spec);
      expect(item.layout.objects.map((o) => [o.colour, o.shape])).toEqual(
        named.map((o) => [o.colour, o.shape]),
      );
      if (item.spec.form === "relation") {
        relations++;
        const [subject, reference] = item.layout.objects;
        const delta = {
          above: reference!.cy - subject!.cy,
          below: subject!.cy - reference!.cy,
          "left of": reference!.cx - subject!.cx,
          "right of": subject!.cx - reference!.cx,
        }[item.spec.relation];
        expect(delta).toBeGreaterThan(0);
      }
    }
    expect(relations).toBeGreaterThan(100);
  });

  it("names the bad option", () => {
    expect(() => [...generateDataset({ count: -1, seed: 1, split: "train" })]).toThrow(
      "generateDataset: count must be an integer >= 0, got -1",
    );
    expect(() => [...generateDataset({ count: 1, seed: 1.5, split: "train" })]).toThrow(
      ShapesError,
    );
    expect(() => [
      ...generateDataset({ count: 1, seed: 1, split: "train", paraphraseRate: 2 }),
    ]).toThrow("paraphraseRate must be in [0, 1], got 2");
  });
});

describe("evalPromptSet", () => {
  it("has at least 300 distinct canonical prompts by default, covering every form variant", () => {
    const prompts = evalPromptSet();
    expect(prompts.length).toBeGreaterThanOrEqual(300);
    expect(new Set(prompts.map((p) => p.prompt)).size).toBe(prompts.length);
    for (const { prompt, form, heldOut } of prompts) {
      const spec = parsePrompt(prompt);
      expect(spec.form).toBe(form);
      expect(canonicalCaption(spec)).toBe(prompt);
      expect(heldOutByRule(spec), prompt).toBe(heldOut);
    }
    const variants = (heldOut: boolean) =>
      new Set(prompts.filter((p) => p.heldOut === heldOut).map((p) => p.variant));
    const all = [
      "single",
      "single+size",
      "single+position",
      "single+size+position",
      "count",
      "count+size",
      "relation:above",
      "relation:below",
      "relation:left of",
      "relation:right of",
    ];
    expect([...variants(false)].sort()).toEqual([...all].sort());
    expect([...variants(true)].sort()).toEqual([...all].sort());
  });

  it("is deterministic by seed and sized by its options", () => {
    expect(evalPromptSet({ seed: 3 })).toEqual(evalPromptSet({ seed: 3 }));
    expect(evalPromptSet({ seed: 3 })).not.toEqual(evalPromptSet({ seed: 4 }));
    const small = evalPromptSet({ seen: 10, heldOut: 5 });
    expect(small.filter((p) => !p.heldOut)).toHaveLength(10);
    expect(small.filter((p) => p.heldOut)).toHaveLength(5);
    expect(() => evalPromptSet({ seen: -1 })).toThrow(
      "evalPromptSet: seen must be an integer in [0, 2000], got -1",
    );
  });
});

describe("writeDataset", () => {
  const dir = mkdtempSync(join(tmpdir(), "easel-shapes-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes images.u8, captions.jsonl and meta.json in the training format", () => {
    const out = join(dir, "train");
    const result = writeDataset({ count: 300, seed: 5, split: "train", out });
    expect(result.count).toBe(300);
    const images = readFileSync(join(out, "images.u8"));
    expect(images.length).toBe(300 * 64 * 64 * 3);
    const lines = readFileSync(join(out, "captions.jsonl"), "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(300);
    expect(JSON.parse(readFileSync(join(out, "meta.json"), "utf8"))).toEqual({
      count: 300,
      seed: 5,
      split: "train",
      width: 64,
      height: 64,
    });
    const expected = [...generateDataset({ count: 300, seed: 5, split: "train" })];
    expected.forEach((item, i) => {
      const { background, objects } = item.layout;
      expect(JSON.parse(lines[i]!)).toEqual({
        caption: item.caption,
        spec: item.spec,
        layout: { background, objects: objects.map((o) => ({ ...o, rgb: PALETTE[o.colour] })) },
      });
    });
    const last = expected[299]!;
    expect(images.subarray(299 * 12288).equals(Buffer.from(last.image.data))).toBe(true);
    // HWC: the first pixel's three channels are consecutive bytes.
    expect([...images.subarray(0, 3)]).toEqual([...expected[0]!.image.data.subarray(0, 3)]);
  });

  it("is what the dataset CLI writes, with the exact flags of the training contract", () => {
    const out = join(dir, "cli");
    const cli = resolve(import.meta.dirname, "../cli/dataset.ts");
    execFileSync(
      process.execPath,
      ["--import", "tsx", cli, "--count", "40", "--seed", "9", "--split", "heldout", "--out", out],
      { stdio: "pipe" },
    );
    const meta = JSON.parse(readFileSync(join(out, "meta.json"), "utf8"));
    expect(meta).toEqual({ count: 40, seed: 9, split: "heldout", width: 64, height: 64 });
    const first = [...generateDataset({ count: 1, seed: 9, split: "heldout" })][0]!;
    expect(
      readFileSync(join(out, "images.u8")).subarray(0, 12288).equals(Buffer.from(first.image.data)),
    ).toBe(true);
    expect(() =>
      execFileSync(
        process.execPath,
        ["--import", "tsx", cli, "--count", "1", "--seed", "1", "--split", "test", "--out", out],
        { stdio: "pipe" },
      ),
    ).toThrow(/--split must be one of train, heldout, all, got test/);
  });
});
