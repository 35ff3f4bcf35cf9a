/**
 * Keeps the reference tables of docs/API.md and packages/sdk/README.md true to the code: the fields
 * of each schema, the tRPC procedures and their kinds, every error code with its status, which
 * statuses the SDK retries (by running its retrying fetch), and the CLI's flags.
 */
import {
  createJobSchema,
  ERROR_STATUS,
  generationInputSchema,
  openAiImageRequestSchema,
} from "@easel/schema";
import { describe, expect, it } from "vitest";
import { appRouter } from "../../packages/api/src/root.ts";
import { retryingFetch } from "../../packages/sdk/src/retry.ts";
import { codeSpans, section, tableWithHeader } from "./markdown.ts";
import { code, interfaceKeys, readRepoFile, sorted } from "./source.ts";

const API = readRepoFile("docs/API.md");
const README = readRepoFile("packages/sdk/README.md");

/** The code spans of the first column of a table: the names it documents. */
const firstColumn = (rows: string[][]) => rows.flatMap((row) => codeSpans(row[0]));

describe("docs/API.md", () => {
  it("describes every field of GenerationInput and no other", () => {
    const table = tableWithHeader(section(API, "## What a generation takes"), [
      "Field",
      "Type",
      "Rule",
    ]);
    expect(sorted(firstColumn(table.rows))).toEqual(
      sorted(Object.keys(generationInputSchema.shape)),
    );
  });

  it("describes every field of the OpenAI route's body and no other", () => {
    const table = tableWithHeader(section(API, "### `POST /v1/images/generations`"), [
      "Field",
      "Meaning",
    ]);
    expect(sorted(firstColumn(table.rows))).toEqual(
      sorted(Object.keys(openAiImageRequestSchema.shape)),
    );
  });

  it("describes every field of CreateJob and no other", () => {
    const table = tableWithHeader(section(API, "## tRPC"), ["Field", "Meaning"]);
    expect(sorted(firstColumn(table.rows))).toEqual(sorted(Object.keys(createJobSchema.shape)));
  });

  it("lists every tRPC procedure of AppRouter with its kind", () => {
    const table = tableWithHeader(section(API, "## tRPC"), [
      "Procedure",
      "Kind",
      "Input",
      "Output",
    ]);
    const documented = table.rows.map((row) => `${codeSpans(row[0])[0]} ${row[1]}`);
    // At run time tRPC keeps procedures flat, by dotted path ("jobs.get"); its type is nested.
    const procedures = appRouter._def.procedures as unknown as Record<
      string,
      { _def: { type: string } }
    >;
    const actual = Object.entries(procedures).map(([path, p]) => `${path} ${p._def.type}`);
    expect(sorted(documented)).toEqual(sorted(actual));
  });
});

describe("packages/sdk/README.md", () => {
  const errorTable = tableWithHeader(section(README, "## Errors"), [
    "Code",
    "Status",
    "Retried",
    "When an SDK caller sees it",
  ]);

  it("gives every error code of ERROR_STATUS its HTTP status", () => {
    const documented = errorTable.rows.flatMap((row) =>
      codeSpans(row[0]).map((c) => `${c} ${row[1]}`),
    );
    const actual = Object.entries(ERROR_STATUS).map(([c, status]) => `${c} ${status}`);
    expect(sorted(documented)).toEqual(sorted(actual));
  });

  it("says 'yes' under Retried exactly for the statuses the client's fetch retries", async () => {
    const retriedStatus = async (status: number) => {
      let calls = 0;
      const fetchOnce: typeof fetch = async () => {
        calls++;
        return new Response(null, { status, headers: { "retry-after": "0" } });
      };
      await retryingFetch(fetchOnce, { retries: 1, baseDelayMs: 0 })("http://easel.test/trpc/x");
      return calls > 1;
    };
    for (const row of errorTable.rows) {
      if (row[2] === "—") continue; // codes the gateway never answers with
      expect(await retriedStatus(Number(row[1])), `${row[0]} (${row[1]})`).toBe(row[2] === "yes");
    }
  });

  it("describes every field of GenerationInput and no other", () => {
    const table = tableWithHeader(section(README, "## What you can ask for"), ["Field", "Limits"]);
    expect(sorted(firstColumn(table.rows))).toEqual(
      sorted(Object.keys(generationInputSchema.shape)),
    );
  });

  it("describes every option of createEaselClient and no other", () => {
    const table = tableWithHeader(section(README, "## `createEaselClient`"), [
      "Option",
      "Default",
      "Meaning",
    ]);
    expect(sorted(firstColumn(table.rows))).toEqual(
      sorted(interfaceKeys("packages/sdk/src/client.ts", "EaselClientOptions")),
    );
    const retry = table.rows.find((row) => row[0] === "`retry`")?.[2] ?? "";
    const named = [...retry.matchAll(/(\w+) = \d+/g)].map((m) => m[1] ?? "");
    expect(sorted(named)).toEqual(
      sorted(interfaceKeys("packages/sdk/src/retry.ts", "RetryOptions")),
    );
  });

  it("documents every flag the CLI reads, with its short forms", () => {
    const table = tableWithHeader(section(README, "## The `easel` CLI"), ["Flag", "Meaning"]);
    const spans = firstColumn(table.rows);
    const documentedLong = new Set(
      spans.flatMap((s) => [...s.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1] ?? "")),
    );
    const cli = code("packages/sdk/src/cli/main.ts");
    const read = new Set(
      [
        ...cli.matchAll(
          /(?:string|int|number)Flag\(flags, "([a-z-]+)"\)|flags\.has\("([a-z-]+)"\)/g,
        ),
      ].map((m) => m[1] ?? m[2] ?? ""),
    );
    expect(sorted(documentedLong)).toEqual(sorted(read));

    const shortMap =
      /const SHORT[^=]*=\s*\{([^}]*)\}/.exec(code("packages/sdk/src/cli/args.ts"))?.[1] ?? "";
    const shorts = [...shortMap.matchAll(/(\w+): "([a-z-]+)"/g)].map((m) => `-${m[1]} --${m[2]}`);
    const documentedShorts = table.rows.flatMap((row) => {
      const [first, second] = codeSpans(row[0]);
      return /^-[a-z]$/.test(first ?? "") ? [`${first} ${second?.split(" ")[0]}`] : [];
    });
    expect(sorted(documentedShorts)).toEqual(sorted(shorts));
  });
});
