import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ERROR_STATUS } from "@easel/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AdversarialCase, adversarialCases } from "./cases.ts";
import { caseTableMarkdown, DOC_ALLOWED_ORIGIN } from "./docs-table.ts";
import { type RawResponse, send } from "./http.ts";
import { newToken, REPO_ROOT, startTestStack, type TestStack } from "./stack.ts";

const TOKEN = newToken("sk-adv");
const ALLOWED_ORIGIN = DOC_ALLOWED_ORIGIN;
const CASES = adversarialCases({ token: TOKEN, allowedOrigin: ALLOWED_ORIGIN });

/** The error code of a REST (`error.code`) or tRPC (`error.data.easel.code`) error body. */
export function errorOf(body: unknown): { code?: unknown; param?: unknown; requestId?: unknown } {
  // A tRPC batch answers with one envelope per call; the table's batch cases fail them all alike.
  const first = Array.isArray(body) ? body[0] : body;
  const error = (first as { error?: Record<string, unknown> } | undefined)?.error;
  const easel = (error?.["data"] as { easel?: Record<string, unknown> } | undefined)?.easel;
  return easel ?? error ?? {};
}

/** Every way `response` differs from what `c` documents; empty when it matches. */
function mismatches(c: AdversarialCase, response: RawResponse): string[] {
  const problems: string[] = [];
  const error = errorOf(response.json);
  if (response.status !== c.expect.status)
    problems.push(`status ${response.status}, expected ${c.expect.status}`);
  if (c.expect.code === null) {
    if (response.text !== "") problems.push(`expected no body, got ${response.text.slice(0, 200)}`);
  } else {
    if (error.code !== c.expect.code)
      problems.push(`code ${String(error.code)}, expected ${c.expect.code}`);
    if (!String(response.headers["content-type"]).startsWith("application/json"))
      problems.push(`content-type ${response.headers["content-type"]}`);
    if (error.requestId !== response.headers["x-request-id"])
      problems.push(
        `body requestId ${String(error.requestId)} != header ${response.headers["x-request-id"]}`,
      );
  }
  if (c.expect.param !== undefined && error.param !== c.expect.param)
    problems.push(`param ${String(error.param)}, expected ${c.expect.param}`);
  for (const name of c.headers?.absent ?? [])
    if (response.headers[name] !== undefined) problems.push(`header ${name} must be absent`);
  for (const [name, pattern] of Object.entries(c.headers?.present ?? {}))
    if (!pattern.test(String(response.headers[name] ?? "")))
      problems.push(`header ${name}: ${String(response.headers[name])} !~ ${pattern}`);
  if (problems.length > 0) problems.push(`body: ${response.text.slice(0, 300)}`);
  return problems;
}

/** A Markdown table as rows of trimmed cells, whatever the column padding (biome aligns them). */
function tableCells(markdown: string): string[][] {
  return markdown
    .trim()
    .split("\n")
    .map((row) =>
      row
        .trim()
        .replace(/^\||\|$/g, "")
        .split(/(?<!\\)\|/)
        .map((cell) => (/^\s*-+\s*$/.test(cell) ? "---" : cell.trim())),
    );
}

describe("docs/ERRORS.md", () => {
  const doc = readFileSync(resolve(REPO_ROOT, "docs/ERRORS.md"), "utf8");

  it("lists every error code with the status of ERROR_STATUS", () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(doc, code).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`));
    }
  });

  it("carries the adversarial table the suite runs, row for row", () => {
    const between = /<!-- cases:begin -->\n([\s\S]*?)\n<!-- cases:end -->/.exec(doc)?.[1] ?? "";
    expect(tableCells(between)).toEqual(tableCells(caseTableMarkdown()));
    const ids = CASES.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(CASES.length).toBeGreaterThanOrEqual(50);
    expect(CASES.every((c) => c.expect.status >= 400 && c.expect.status < 500)).toBe(true);
  });
});

const RUNTIMES = [
  { runtime: "Node", worker: false },
  { runtime: "workerd", worker: true },
] as const;

describe.each(RUNTIMES)("hostile requests against the real $runtime gateway", ({ worker }) => {
  let stack: TestStack;
  const authed = () => ({ authorization: `Bearer ${TOKEN}`, "content-type": "application/json" });
  const trpc = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    send(stack.baseUrl, {
      method: "POST",
      path: `/trpc/${path}`,
      headers: { ...authed(), ...headers },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    stack = await startTestStack({
      worker,
      keys: [
        {
          id: "adversary",
          token: TOKEN,
          limits: { requests: 100_000, windowSeconds: 60, concurrentJobs: 64 },
        },
      ],
      gatewayEnv: {
        EASEL_CORS_ORIGINS: ALLOWED_ORIGIN,
        EASEL_WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        EASEL_GENERATE_WAIT_S: "20",
      },
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it(`answers each of the ${CASES.length} cases of docs/ERRORS.md with its documented 4xx`, async () => {
    const failures: string[] = [];
    for (const c of CASES) {
      const response = await send(stack.baseUrl, c.request);
      const problems = mismatches(c, response);
      if (response.status >= 500) problems.unshift("5xx");
      if (problems.length > 0) failures.push(`${c.id}: ${problems.join("; ")}`);
    }
    expect(failures).toEqual([]);
  });

  it("answers 422 idempotency_mismatch to a replayed Idempotency-Key with another body", async () => {
    const key = { "idempotency-key": `replay-${newToken("k")}` };
    const first = await trpc("jobs.create", { input: { prompt: "a red circle", steps: 2 } }, key);
    expect(first.status).toBe(200);
    const again = await trpc("jobs.create", { input: { prompt: "a red circle", steps: 2 } }, key);
    expect(again.status).toBe(200);
    expect((again.json as { result: { data: { id: string } } }).result.data.id).toBe(
      (first.json as { result: { data: { id: string } } }).result.data.id,
    );
    for (const other of [
      { input: { prompt: "a blue square", steps: 2 } },
      { input: { prompt: "a red circle", steps: 3 } },
      { input: { prompt: "a red circle", steps: 2 }, response_format: "b64_json" },
    ]) {
      const replay = await trpc("jobs.create", other, key);
      expect(replay.status).toBe(422);
      expect(errorOf(replay.json)).toMatchObject({
        code: "idempotency_mismatch",
        param: "Idempotency-Key",
      });
    }
    const openai = await send(stack.baseUrl, {
      method: "POST",
      path: "/v1/images/generations",
      headers: { ...authed(), ...key },
      body: JSON.stringify({ prompt: "something else" }),
    });
    expect(openai.status).toBe(422);
    expect(errorOf(openai.json)).toMatchObject({ code: "idempotency_mismatch" });
  });

  it("answers 409 idempotency_in_progress to concurrent duplicates, and one job to the rest", async () => {
    const statuses: number[] = [];
    const ids = new Set<string>();
    // A duplicate can only race the first while its job is being created; retry with fresh keys
    // in the unlikely case that no request of a round overlapped the first.
    for (let round = 0; round < 5 && !statuses.includes(409); round++) {
      const key = { "idempotency-key": `dup-${newToken("k")}` };
      const body = { input: { prompt: "a green triangle", steps: 2, seed: round } };
      const responses = await Promise.all(
        Array.from({ length: 12 }, () => trpc("jobs.create", body, key)),
      );
      const roundIds = new Set<string>();
      for (const r of responses) {
        statuses.push(r.status);
        if (r.status === 200)
          roundIds.add((r.json as { result: { data: { id: string } } }).result.data.id);
        else {
          expect(r.status).toBe(409);
          expect(errorOf(r.json)).toMatchObject({
            code: "idempotency_in_progress",
            param: "Idempotency-Key",
          });
          expect(r.headers["retry-after"]).toBe("1");
        }
      }
      expect(roundIds.size).toBe(1);
      for (const id of roundIds) ids.add(id);
    }
    expect(statuses).toContain(409);
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
  });

  it("accepts odd but valid unicode prompts and the pipeline completes them", async () => {
    const prompts = [
      "\u202eelcric der a\u202c",
      "👩‍👩‍👧‍👦 🏳️‍🌈 👍🏽 a red circle",
      "a\u200b\u200c\u200d\u2060red circle",
      "Z\u0338\u0322\u031ba\u0335l\u0336g\u0337o\u0334 𝕏 \ufeff\ue000",
    ];
    const ids: string[] = [];
    for (const prompt of prompts) {
      const created = await trpc("jobs.create", {
        input: { prompt, steps: 2, width: 64, height: 64 },
      });
      expect(created.status, created.text).toBe(200);
      ids.push((created.json as { result: { data: { id: string } } }).result.data.id);
    }
    for (const id of ids) {
      const deadline = Date.now() + 60_000;
      let status = "queued";
      while (status !== "succeeded" && status !== "failed" && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        const got = await send(stack.baseUrl, {
          method: "GET",
          path: `/trpc/jobs.get?input=${encodeURIComponent(JSON.stringify({ id }))}`,
          headers: authed(),
        });
        expect(got.status).toBe(200);
        status = (got.json as { result: { data: { status: string } } }).result.data.status;
      }
      expect(status).toBe("succeeded");
    }
  });

  it("is healthy afterwards: health, models and a real generation", async () => {
    expect((await send(stack.baseUrl, { method: "GET", path: "/health" })).status).toBe(200);
    const models = await send(stack.baseUrl, {
      method: "GET",
      path: "/v1/models",
      headers: authed(),
    });
    expect(models.status).toBe(200);
    const generated = await send(stack.baseUrl, {
      method: "POST",
      path: "/v1/images/generations",
      headers: authed(),
      body: JSON.stringify({
        prompt: "a red circle",
        size: "64x64",
        steps: 2,
        response_format: "b64_json",
      }),
    });
    expect(generated.status, generated.text).toBe(200);
    const image = (generated.json as { data: { b64_json: string }[] }).data[0]?.b64_json ?? "";
    expect(Buffer.from(image, "base64").subarray(1, 4).toString()).toBe("PNG");
  });
});
