import type { ErrorCode } from "@easel/schema";
import { type RawRequest, utf8Header } from "./http.ts";

/** What the adversarial suite needs to know about the gateway under test. */
export interface CaseContext {
  /** A valid API key. */
  token: string;
  /** The one origin the gateway's CORS configuration allows. */
  allowedOrigin: string;
}

/** One hostile request and the answer the gateway must give (documented in docs/ERRORS.md). */
export interface AdversarialCase {
  /** Stable id, the first column of the table in docs/ERRORS.md. */
  id: string;
  /** What is sent, in words. */
  title: string;
  request: RawRequest;
  expect: {
    status: number;
    /** The body's error code (`error.code`, or `error.data.easel.code` for tRPC); null: no body. */
    code: ErrorCode | null;
    /** The `param` the error names, where it names one. */
    param?: string;
  };
  /** Extra checks of the response headers. */
  headers?: { absent?: string[]; present?: Record<string, RegExp> };
}

const GENERATIONS = "/v1/images/generations";
const JOB_ID = "job_AAAAAAAAAAAAAAAAAAAAAAAA";
const MIB = 1024 * 1024;

/** A nested array `depth` levels deep, as JSON text (built as text: JSON.stringify would recurse). */
const deepArray = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const input = (value: unknown) => encodeURIComponent(JSON.stringify(value));

/**
 * The table of bad and hostile requests. Every case must get its documented 4xx (never a 5xx),
 * and the gateway must stay healthy after all of them.
 */
export function adversarialCases({ token, allowedOrigin }: CaseContext): AdversarialCase[] {
  const bearer = { authorization: `Bearer ${token}` };
  const json = { ...bearer, "content-type": "application/json" };
  const postJson = (path: string, body: string, headers: Record<string, string> = {}) => ({
    method: "POST",
    path,
    headers: { ...json, ...headers },
    body,
  });
  const generate = (body: unknown, headers: Record<string, string> = {}) =>
    postJson(GENERATIONS, JSON.stringify(body), headers);
  const badField = (
    id: string,
    title: string,
    body: Record<string, unknown>,
    param: string,
  ): AdversarialCase => ({
    id,
    title,
    request: generate(body),
    expect: { status: 400, code: "invalid_parameter", param },
  });
  const models = (authorization?: string): RawRequest => ({
    method: "GET",
    path: "/v1/models",
    headers: authorization === undefined ? {} : { authorization },
  });
  const unauthorized = { status: 401, code: "unauthorized" } as const;
  const createJob = (body: unknown) => postJson("/trpc/jobs.create", JSON.stringify(body));
  const webhook = (id: string, url: string): AdversarialCase => ({
    id,
    title: `jobs.create with webhook_url ${url}`,
    request: createJob({ input: { prompt: "a red circle" }, webhook_url: url }),
    expect: { status: 400, code: "invalid_parameter", param: "webhook_url" },
  });

  return [
    // --- Authentication -------------------------------------------------------------------
    {
      id: "auth-missing",
      title: "no Authorization header",
      request: models(),
      expect: unauthorized,
    },
    {
      id: "auth-empty-bearer",
      title: "`Bearer ` with nothing after it",
      request: models("Bearer "),
      expect: unauthorized,
    },
    {
      id: "auth-basic",
      title: "Basic credentials instead of a bearer token",
      request: models("Basic dXNlcjpwYXNz"),
      expect: unauthorized,
    },
    {
      id: "auth-token-with-space",
      title: "the valid key with a space inserted",
      request: models(`Bearer ${token.slice(0, 8)} ${token.slice(8)}`),
      expect: unauthorized,
    },
    {
      id: "auth-token-unicode",
      title: "a token with Cyrillic letters and an emoji (UTF-8 bytes)",
      request: models(utf8Header("Bearer sk-ключ-🔑-0123456789abcdef")),
      expect: unauthorized,
    },
    {
      id: "auth-forged",
      title: "a well-formed key that was never issued",
      request: models("Bearer sk-local-000000000000000000000000000000000000"),
      expect: unauthorized,
    },
    {
      id: "auth-key-with-suffix",
      title: "the valid key plus one character",
      request: models(`Bearer ${token}x`),
      expect: unauthorized,
    },
    {
      id: "auth-key-prefix",
      title: "the first 20 characters of the valid key",
      request: models(`Bearer ${token.slice(0, 20)}`),
      expect: unauthorized,
    },
    {
      id: "auth-token-4kb",
      title: "a 4 KB token",
      request: models(`Bearer ${"a".repeat(4096)}`),
      expect: unauthorized,
    },
    {
      id: "auth-two-tokens",
      title: "two bearer tokens in one header",
      request: models(`Bearer ${token}, Bearer ${token}`),
      expect: unauthorized,
    },
    {
      id: "auth-tab-separator",
      title: "a tab instead of the space after Bearer",
      request: models(`Bearer\t${token}`),
      expect: unauthorized,
    },
    {
      id: "auth-query-string",
      title: "the key in the query string instead of the header",
      request: { method: "GET", path: `/v1/models?api_key=${token}` },
      expect: unauthorized,
    },
    {
      id: "auth-trpc-missing",
      title: "tRPC models.list without a key",
      request: { method: "GET", path: "/trpc/models.list" },
      expect: unauthorized,
    },
    {
      id: "auth-head",
      title: "no key (HEAD: the answer has no body)",
      request: { method: "HEAD", path: "/v1/models" },
      expect: { status: 401, code: null },
    },

    // --- Routes and methods ---------------------------------------------------------------
    {
      id: "route-unknown",
      title: "a path that does not exist",
      request: { method: "GET", path: "/admin" },
      expect: { status: 404, code: "not_found" },
    },
    {
      id: "route-unknown-v1",
      title: "an unknown path under /v1, with a valid key",
      request: { method: "GET", path: "/v1/unknown", headers: bearer },
      expect: { status: 404, code: "not_found" },
    },
    {
      id: "route-dotdot",
      title: "`..` segments, not normalised by the client",
      request: { method: "GET", path: "/v1/../admin", headers: bearer },
      expect: { status: 404, code: "not_found" },
    },
    {
      id: "route-encoded-nul",
      title: "an encoded NUL after the path",
      request: { method: "GET", path: "/v1/models%00", headers: bearer },
      expect: { status: 404, code: "not_found" },
    },
    {
      id: "method-delete-models",
      title: "a method the path does not serve",
      request: { method: "DELETE", path: "/v1/models", headers: bearer },
      expect: { status: 405, code: "method_not_allowed" },
      headers: { present: { allow: /^GET, HEAD$/ } },
    },
    {
      id: "method-get-generations",
      title: "a method the path does not serve",
      request: { method: "GET", path: GENERATIONS, headers: bearer },
      expect: { status: 405, code: "method_not_allowed" },
      headers: { present: { allow: /^POST$/ } },
    },
    {
      id: "method-put-health",
      title: "a method the path does not serve",
      request: { method: "PUT", path: "/health" },
      expect: { status: 405, code: "method_not_allowed" },
    },
    {
      id: "method-post-openapi",
      title: "a method the path does not serve",
      request: { method: "POST", path: "/openapi.json", body: "{}" },
      expect: { status: 405, code: "method_not_allowed" },
    },
    {
      id: "method-trpc-mutation-get",
      title: "GET on a mutation",
      request: {
        method: "GET",
        path: `/trpc/jobs.create?input=${input({ input: { prompt: "x" } })}`,
        headers: bearer,
      },
      expect: { status: 405, code: "method_not_allowed" },
    },
    {
      id: "method-trpc-put",
      title: "PUT on a query",
      request: { method: "PUT", path: "/trpc/models.list", headers: json, body: "{}" },
      expect: { status: 405, code: "method_not_allowed" },
    },
    {
      id: "trpc-unknown-procedure",
      title: "a procedure that does not exist",
      request: { method: "GET", path: "/trpc/admin.deleteAll", headers: bearer },
      expect: { status: 404, code: "not_found" },
    },
    {
      id: "trpc-proto-procedure",
      title: "`__proto__` as the procedure path",
      request: { method: "GET", path: "/trpc/__proto__", headers: bearer },
      expect: { status: 404, code: "not_found" },
    },
    {
      id: "trpc-constructor-procedure",
      title: "`constructor` of a router as the procedure",
      request: { method: "GET", path: "/trpc/jobs.constructor", headers: bearer },
      expect: { status: 404, code: "not_found" },
    },
    {
      id: "trpc-batch-unknown",
      title: "a batch of two unknown procedures",
      request: { method: "GET", path: `/trpc/a.b,c.d?batch=1&input=${input({})}`, headers: bearer },
      expect: { status: 404, code: "not_found" },
    },

    // --- Bodies: framing, content types, sizes --------------------------------------------
    {
      id: "body-empty",
      title: "an empty JSON body",
      request: postJson(GENERATIONS, ""),
      expect: { status: 400, code: "invalid_request" },
    },
    {
      id: "body-invalid-json",
      title: '`{"prompt":` (truncated JSON)',
      request: postJson(GENERATIONS, '{"prompt":'),
      expect: { status: 400, code: "invalid_request" },
    },
    {
      id: "body-nan-literal",
      title: "`NaN` as a JSON value",
      request: postJson(GENERATIONS, '{"prompt":"x","n":NaN}'),
      expect: { status: 400, code: "invalid_request" },
    },
    {
      id: "body-trailing-garbage",
      title: "valid JSON followed by `}}}`",
      request: postJson(GENERATIONS, '{"prompt":"x"}}}}'),
      expect: { status: 400, code: "invalid_request" },
    },
    {
      id: "body-array",
      title: "an array instead of an object",
      request: generate([{ prompt: "a cat" }]),
      expect: { status: 400, code: "invalid_parameter", param: "(body)" },
    },
    {
      id: "body-string",
      title: "a JSON string instead of an object",
      request: generate("a cat"),
      expect: { status: 400, code: "invalid_parameter", param: "(body)" },
    },
    {
      id: "body-null",
      title: "`null`",
      request: postJson(GENERATIONS, "null"),
      expect: { status: 400, code: "invalid_parameter", param: "(body)" },
    },
    {
      id: "body-number",
      title: "`42`",
      request: postJson(GENERATIONS, "42"),
      expect: { status: 400, code: "invalid_parameter", param: "(body)" },
    },
    {
      id: "body-deep-nesting-field",
      title: "an unknown field holding arrays nested 100,000 deep",
      request: postJson(GENERATIONS, `{"prompt":"x","x":${deepArray(100_000)}}`),
      expect: { status: 400, code: "invalid_parameter", param: "(body)" },
    },
    {
      id: "body-deep-nesting-prompt",
      title: "the prompt as arrays nested 100,000 deep",
      request: postJson(GENERATIONS, `{"prompt":${deepArray(100_000)}}`),
      expect: { status: 400, code: "invalid_parameter", param: "prompt" },
    },
    {
      id: "body-proto-key",
      title: "a `__proto__` key next to a valid prompt",
      request: postJson(GENERATIONS, '{"prompt":"x","__proto__":{"polluted":true}}'),
      expect: { status: 400, code: "invalid_parameter", param: "(body)" },
    },
    {
      id: "body-proto-only",
      title: "the prompt hidden inside `__proto__`",
      request: postJson(GENERATIONS, '{"__proto__":{"prompt":"x"}}'),
      expect: { status: 400, code: "invalid_parameter", param: "prompt" },
    },
    {
      id: "body-constructor-key",
      title: "`constructor.prototype` pollution attempt",
      request: postJson(
        GENERATIONS,
        '{"prompt":"x","constructor":{"prototype":{"polluted":true}}}',
      ),
      expect: { status: 400, code: "invalid_parameter", param: "(body)" },
    },
    {
      id: "body-duplicate-key",
      title: "`prompt` twice, the second a number",
      request: postJson(GENERATIONS, '{"prompt":"x","prompt":5}'),
      expect: { status: 400, code: "invalid_parameter", param: "prompt" },
    },
    {
      id: "body-unknown-field",
      title: "an unknown field `admin: true`",
      request: generate({ prompt: "x", admin: true }),
      expect: { status: 400, code: "invalid_parameter", param: "(body)" },
    },
    {
      id: "content-type-text",
      title: "a JSON body sent as text/plain",
      request: postJson(GENERATIONS, '{"prompt":"x"}', { "content-type": "text/plain" }),
      expect: { status: 415, code: "unsupported_media_type" },
    },
    {
      id: "content-type-missing",
      title: "a JSON body without Content-Type",
      request: { method: "POST", path: GENERATIONS, headers: bearer, body: '{"prompt":"x"}' },
      expect: { status: 415, code: "unsupported_media_type" },
    },
    {
      id: "content-type-form",
      title: "a form-encoded body",
      request: postJson(GENERATIONS, "prompt=x", {
        "content-type": "application/x-www-form-urlencoded",
      }),
      expect: { status: 415, code: "unsupported_media_type" },
    },
    {
      id: "content-type-multipart",
      title: "a multipart body",
      request: postJson(
        GENERATIONS,
        '--b\r\ncontent-disposition: form-data; name="prompt"\r\n\r\nx\r\n--b--\r\n',
        { "content-type": "multipart/form-data; boundary=b" },
      ),
      expect: { status: 415, code: "unsupported_media_type" },
    },
    {
      id: "content-type-lookalike",
      title: "Content-Type application/jsonp",
      request: postJson(GENERATIONS, '{"prompt":"x"}', { "content-type": "application/jsonp" }),
      expect: { status: 415, code: "unsupported_media_type" },
    },
    {
      id: "body-utf16",
      title: "UTF-16LE bytes labelled application/json; charset=utf-16le",
      request: {
        ...postJson(GENERATIONS, "", { "content-type": "application/json; charset=utf-16le" }),
        body: Buffer.from('{"prompt":"x"}', "utf16le"),
      },
      expect: { status: 400, code: "invalid_request" },
    },
    {
      id: "body-9mib",
      title: "a 9 MiB body with Content-Length (limit 8 MiB)",
      request: { ...postJson(GENERATIONS, ""), body: Buffer.alloc(9 * MIB, 0x61) },
      expect: { status: 413, code: "payload_too_large" },
    },
    {
      id: "body-9mib-chunked",
      title: "a 9 MiB chunked body without Content-Length",
      request: { ...postJson(GENERATIONS, ""), body: Buffer.alloc(9 * MIB, 0x61), chunked: true },
      expect: { status: 413, code: "payload_too_large" },
    },
    {
      id: "body-9mib-trpc",
      title: "a 9 MiB body with Content-Length to tRPC",
      request: { ...postJson("/trpc/jobs.create", ""), body: Buffer.alloc(9 * MIB, 0x61) },
      expect: { status: 413, code: "payload_too_large" },
    },

    // --- Prompts ----------------------------------------------------------------------------
    badField("prompt-missing", "`{}`", {}, "prompt"),
    badField("prompt-null", "`prompt: null`", { prompt: null }, "prompt"),
    badField("prompt-number", "`prompt: 42`", { prompt: 42 }, "prompt"),
    badField("prompt-array", '`prompt: ["a", "b"]`', { prompt: ["a", "b"] }, "prompt"),
    badField(
      "prompt-object",
      '`prompt: { toString: "x" }`',
      { prompt: { toString: "x" } },
      "prompt",
    ),
    badField("prompt-empty", '`prompt: ""`', { prompt: "" }, "prompt"),
    badField(
      "prompt-whitespace",
      "a prompt of spaces, tabs and newlines",
      { prompt: " \t\n\r " },
      "prompt",
    ),
    badField(
      "prompt-1001-chars",
      "a 1,001-character prompt (limit 1,000)",
      { prompt: "a".repeat(1001) },
      "prompt",
    ),
    badField("prompt-1mib", "a 1 MiB prompt", { prompt: "a".repeat(MIB) }, "prompt"),
    badField(
      "prompt-1001-emoji",
      "1,001 emoji (the 1,000 limit counts code points)",
      { prompt: "👍".repeat(1001) },
      "prompt",
    ),
    badField(
      "prompt-nul",
      "a NUL character inside the prompt",
      { prompt: "a red\u0000circle" },
      "prompt",
    ),
    badField(
      "prompt-control",
      "BEL and ESC (an ANSI escape) in the prompt",
      { prompt: "a red circle\u0007\u001b[2J" },
      "prompt",
    ),
    badField("prompt-del", "a DEL character", { prompt: "a\u007f" }, "prompt"),
    {
      id: "prompt-lone-surrogate",
      title: "a lone high surrogate `\\ud800` (escaped in JSON)",
      request: postJson(GENERATIONS, '{"prompt":"a red \\ud800 circle"}'),
      expect: { status: 400, code: "invalid_parameter", param: "prompt" },
    },
    {
      id: "prompt-lone-low-surrogate",
      title: "a lone low surrogate `\\udfff` at the end",
      request: postJson(GENERATIONS, '{"prompt":"a red circle\\udfff"}'),
      expect: { status: 400, code: "invalid_parameter", param: "prompt" },
    },
    {
      id: "prompt-invalid-utf8",
      title: "raw bytes that are not UTF-8 (0xC3 0x28, 0xFF)",
      request: {
        ...postJson(GENERATIONS, ""),
        body: Buffer.concat([
          Buffer.from('{"prompt":"a '),
          Buffer.from([0xc3, 0x28, 0xff]),
          Buffer.from('","n":0}'),
        ]),
      },
      expect: { status: 400, code: "invalid_parameter", param: "n" },
    },
    badField(
      "prompt-rtl-override",
      "an RTL override prompt with `n: 0`",
      { prompt: "\u202eelcric der a\u202c", n: 0 },
      "n",
    ),
    badField(
      "prompt-zwj-emoji",
      'a ZWJ family emoji and flags with `size: "65x64"`',
      { prompt: "👩‍👩‍👧‍👦 🏳️‍🌈 👍🏽", size: "65x64" },
      "size",
    ),
    badField(
      "prompt-zero-width",
      "zero-width spaces and joiners with `steps: 0`",
      { prompt: "a\u200b\u200c\u200d\u2060red circle", steps: 0 },
      "steps",
    ),
    badField(
      "prompt-zalgo",
      "stacked combining marks with `seed: -1`",
      { prompt: "Z\u0338\u0322\u031b\u034ea\u0335l\u0336g\u0337o\u0334", seed: -1 },
      "seed",
    ),
    badField(
      "prompt-bom-private-use",
      "a BOM, a private-use and a non-character with `guidance_scale: 31`",
      { prompt: "\ufeff\ue000\uffff circle", guidance_scale: 31 },
      "guidance_scale",
    ),

    // --- Numbers and sizes --------------------------------------------------------------------
    badField("size-negative", '`size: "-512x512"`', { prompt: "x", size: "-512x512" }, "size"),
    badField("size-zero", '`size: "0x0"`', { prompt: "x", size: "0x0" }, "size"),
    badField(
      "size-zero-padded",
      '`size: "0000x0000"` (passes the pattern, width 0)',
      { prompt: "x", size: "0000x0000" },
      "size",
    ),
    badField(
      "size-width-not-multiple-of-8",
      '`size: "100x64"`',
      { prompt: "x", size: "100x64" },
      "size",
    ),
    badField(
      "size-height-not-multiple-of-8",
      '`size: "64x100"`',
      { prompt: "x", size: "64x100" },
      "size",
    ),
    badField(
      "size-too-big",
      '`size: "4096x4096"` (limit 1024)',
      { prompt: "x", size: "4096x4096" },
      "size",
    ),
    badField(
      "size-five-digits",
      '`size: "99999x99999"`',
      { prompt: "x", size: "99999x99999" },
      "size",
    ),
    badField("size-number", "`size: 512`", { prompt: "x", size: 512 }, "size"),
    badField("size-float", '`size: "512.5x512"`', { prompt: "x", size: "512.5x512" }, "size"),
    badField(
      "size-unicode-digits",
      '`size: "５１２x５１２"` (full-width digits)',
      { prompt: "x", size: "５１２x５１２" },
      "size",
    ),
    badField("n-zero", "`n: 0`", { prompt: "x", n: 0 }, "n"),
    badField("n-negative", "`n: -1`", { prompt: "x", n: -1 }, "n"),
    badField("n-fraction", "`n: 1.5`", { prompt: "x", n: 1.5 }, "n"),
    badField("n-string", '`n: "2"`', { prompt: "x", n: "2" }, "n"),
    badField("n-null", "`n: null`", { prompt: "x", n: null }, "n"),
    badField("n-too-many", "`n: 5` (limit 4)", { prompt: "x", n: 5 }, "n"),
    {
      id: "n-infinity",
      title: "`n: 1e999` (parses to Infinity)",
      request: postJson(GENERATIONS, '{"prompt":"x","n":1e999}'),
      expect: { status: 400, code: "invalid_parameter", param: "n" },
    },
    badField("steps-zero", "`steps: 0`", { prompt: "x", steps: 0 }, "steps"),
    badField("steps-too-many", "`steps: 151` (limit 150)", { prompt: "x", steps: 151 }, "steps"),
    badField("steps-string", '`steps: "20"`', { prompt: "x", steps: "20" }, "steps"),
    badField("steps-boolean", "`steps: true`", { prompt: "x", steps: true }, "steps"),
    {
      id: "steps-negative-infinity",
      title: "`steps: -1e999` (-Infinity)",
      request: postJson(GENERATIONS, '{"prompt":"x","steps":-1e999}'),
      expect: { status: 400, code: "invalid_parameter", param: "steps" },
    },
    badField(
      "guidance-negative",
      "`guidance_scale: -1`",
      { prompt: "x", guidance_scale: -1 },
      "guidance_scale",
    ),
    badField(
      "guidance-nan-string",
      '`guidance_scale: "NaN"`',
      { prompt: "x", guidance_scale: "NaN" },
      "guidance_scale",
    ),
    badField("seed-negative", "`seed: -1`", { prompt: "x", seed: -1 }, "seed"),
    badField(
      "seed-2-pow-32",
      "`seed: 4294967296` (limit 2^32 - 1)",
      { prompt: "x", seed: 4_294_967_296 },
      "seed",
    ),
    badField("seed-fraction", "`seed: 1.5`", { prompt: "x", seed: 1.5 }, "seed"),
    badField("seed-huge", "`seed: 1e20`", { prompt: "x", seed: 1e20 }, "seed"),
    badField(
      "scheduler-unknown",
      '`scheduler: "evil"`',
      { prompt: "x", scheduler: "evil" },
      "scheduler",
    ),
    badField(
      "scheduler-proto",
      '`scheduler: "__proto__"`',
      { prompt: "x", scheduler: "__proto__" },
      "scheduler",
    ),
    badField(
      "response-format-unknown",
      '`response_format: "xml"`',
      { prompt: "x", response_format: "xml" },
      "response_format",
    ),
    badField("model-empty", '`model: ""`', { prompt: "x", model: "" }, "model"),
    badField(
      "model-129-chars",
      "a 129-character model name",
      { prompt: "x", model: "m".repeat(129) },
      "model",
    ),
    badField(
      "negative-prompt-number",
      "`negative_prompt: 7`",
      { prompt: "x", negative_prompt: 7 },
      "negative_prompt",
    ),
    badField(
      "user-300-chars",
      "a 300-character `user`",
      { prompt: "x", user: "u".repeat(300) },
      "user",
    ),

    // --- Idempotency keys ---------------------------------------------------------------------
    {
      id: "idempotency-key-256",
      title: "a 256-character Idempotency-Key (limit 255)",
      request: generate({ prompt: "x", size: "64x64" }, { "idempotency-key": "k".repeat(256) }),
      expect: { status: 400, code: "invalid_parameter", param: "Idempotency-Key" },
    },
    {
      id: "idempotency-key-space",
      title: "an Idempotency-Key with a space",
      request: generate({ prompt: "x", size: "64x64" }, { "idempotency-key": "a b" }),
      expect: { status: 400, code: "invalid_parameter", param: "Idempotency-Key" },
    },
    {
      id: "idempotency-key-unicode",
      title: "a UTF-8 Idempotency-Key",
      request: generate(
        { prompt: "x", size: "64x64" },
        { "idempotency-key": utf8Header("ключ-🔑") },
      ),
      expect: { status: 400, code: "invalid_parameter", param: "Idempotency-Key" },
    },

    // --- tRPC inputs and job ids --------------------------------------------------------------
    {
      id: "job-id-number",
      title: "jobs.get with `id: 123`",
      request: {
        method: "GET",
        path: `/trpc/jobs.get?input=${input({ id: 123 })}`,
        headers: bearer,
      },
      expect: { status: 400, code: "invalid_parameter", param: "id" },
    },
    {
      id: "job-id-traversal",
      title: 'jobs.get with `id: "../../etc/passwd"`',
      request: {
        method: "GET",
        path: `/trpc/jobs.get?input=${input({ id: "../../etc/passwd" })}`,
        headers: bearer,
      },
      expect: { status: 400, code: "invalid_parameter", param: "id" },
    },
    {
      id: "job-id-sql",
      title: "jobs.get with `id: \"job_1' OR '1'='1\"`",
      request: {
        method: "GET",
        path: `/trpc/jobs.get?input=${input({ id: "job_1' OR '1'='1" })}`,
        headers: bearer,
      },
      expect: { status: 400, code: "invalid_parameter", param: "id" },
    },
    {
      id: "job-id-unknown",
      title: "jobs.get with a well-formed id that does not exist",
      request: {
        method: "GET",
        path: `/trpc/jobs.get?input=${input({ id: JOB_ID })}`,
        headers: bearer,
      },
      expect: { status: 404, code: "not_found", param: "id" },
    },
    {
      id: "job-get-no-input",
      title: "jobs.get without input",
      request: { method: "GET", path: "/trpc/jobs.get", headers: bearer },
      expect: { status: 400, code: "invalid_parameter", param: "(body)" },
    },
    {
      id: "job-get-input-not-json",
      title: "jobs.get with `input={nope`",
      request: { method: "GET", path: "/trpc/jobs.get?input=%7Bnope", headers: bearer },
      expect: { status: 400, code: "invalid_request" },
    },
    {
      id: "job-get-proto-key",
      title: "jobs.get with an extra `__proto__` key",
      request: {
        method: "GET",
        path: `/trpc/jobs.get?input=${encodeURIComponent(`{"id":"${JOB_ID}","__proto__":{"admin":true}}`)}`,
        headers: bearer,
      },
      expect: { status: 400, code: "invalid_parameter", param: "(body)" },
    },
    {
      id: "job-cancel-unknown",
      title: "jobs.cancel of a job that does not exist",
      request: postJson("/trpc/jobs.cancel", JSON.stringify({ id: JOB_ID })),
      expect: { status: 404, code: "not_found", param: "id" },
    },
    {
      id: "job-list-limit-zero",
      title: "jobs.list with `limit: 0`",
      request: {
        method: "GET",
        path: `/trpc/jobs.list?input=${input({ limit: 0 })}`,
        headers: bearer,
      },
      expect: { status: 400, code: "invalid_parameter", param: "limit" },
    },
    {
      id: "job-list-limit-huge",
      title: "jobs.list with `limit: 1000000`",
      request: {
        method: "GET",
        path: `/trpc/jobs.list?input=${input({ limit: 1_000_000 })}`,
        headers: bearer,
      },
      expect: { status: 400, code: "invalid_parameter", param: "limit" },
    },
    {
      id: "job-list-unknown-cursor",
      title: "jobs.list with a `cursor` that names no job of the key",
      request: {
        method: "GET",
        path: `/trpc/jobs.list?input=${input({ limit: 2, cursor: JOB_ID })}`,
        headers: bearer,
      },
      expect: { status: 400, code: "invalid_parameter", param: "cursor" },
    },
    {
      id: "job-create-no-input",
      title: "jobs.create with an empty object",
      request: createJob({}),
      expect: { status: 400, code: "invalid_parameter", param: "input" },
    },
    {
      id: "job-create-prompt-number",
      title: "jobs.create with `input.prompt: 42`",
      request: createJob({ input: { prompt: 42 } }),
      expect: { status: 400, code: "invalid_parameter", param: "input.prompt" },
    },
    {
      id: "job-create-deep-nesting",
      title: "jobs.create with `input.prompt` nested 100,000 arrays deep",
      request: postJson("/trpc/jobs.create", `{"input":{"prompt":${deepArray(100_000)}}}`),
      expect: { status: 400, code: "invalid_parameter", param: "input.prompt" },
    },
    {
      id: "job-create-too-many-tokens",
      title:
        "jobs.create with 600 emoji: under 1,000 characters, over the model's 75 CLIP tokens (checked by inference)",
      request: createJob({ input: { prompt: "👍".repeat(600) } }),
      expect: { status: 400, code: "invalid_parameter", param: "input.prompt" },
    },
    {
      id: "job-create-invalid-json",
      title: "jobs.create with a truncated JSON body",
      request: postJson("/trpc/jobs.create", '{"input":'),
      expect: { status: 400, code: "invalid_request" },
    },
    {
      id: "job-create-idempotency-key-long",
      title: "jobs.create with a 256-character `idempotency_key`",
      request: createJob({ input: { prompt: "x" }, idempotency_key: "k".repeat(256) }),
      expect: { status: 400, code: "invalid_parameter", param: "idempotency_key" },
    },
    {
      id: "generate-wait-too-long",
      title: "images.generate with `wait_seconds: 999`",
      request: postJson(
        "/trpc/images.generate",
        JSON.stringify({ input: { prompt: "x" }, wait_seconds: 999 }),
      ),
      expect: { status: 400, code: "invalid_parameter", param: "wait_seconds" },
    },

    // --- Webhook targets (SSRF) ---------------------------------------------------------------
    webhook("webhook-loopback-v4", "http://127.0.0.1:9/hook"),
    webhook("webhook-metadata", "http://169.254.169.254/latest/meta-data/"),
    webhook("webhook-loopback-v6", "http://[::1]:9/hook"),
    webhook("webhook-localhost", "http://localhost:9/hook"),
    webhook("webhook-private-10", "http://10.0.0.7/hook"),
    webhook("webhook-unspecified", "http://0.0.0.0:9/hook"),
    webhook("webhook-decimal-ip", "http://2130706433/hook"),
    webhook("webhook-v4-mapped-v6", "http://[::ffff:127.0.0.1]/hook"),
    webhook("webhook-file-scheme", "file:///etc/passwd"),
    webhook("webhook-credentials", "https://user:secret@example.com/hook"),

    // --- Files ----------------------------------------------------------------------------------
    {
      id: "files-traversal-encoded",
      title: "encoded `../../etc/passwd` as the job id",
      request: { method: "GET", path: "/v1/files/..%2F..%2Fetc%2Fpasswd/0", headers: bearer },
      expect: { status: 404, code: "not_found" },
    },
    {
      id: "files-traversal-raw",
      title: "raw `../` segments, not normalised by the client",
      request: { method: "GET", path: "/v1/files/../../../etc/passwd", headers: bearer },
      expect: { status: 404, code: "not_found" },
    },
    {
      id: "files-traversal-backslash",
      title: "encoded backslashes as the job id",
      request: { method: "GET", path: "/v1/files/..%5C..%5Cwin.ini/0", headers: bearer },
      expect: { status: 404, code: "not_found" },
    },
    {
      id: "files-unknown-job",
      title: "an image of a job that does not exist",
      request: { method: "GET", path: `/v1/files/${JOB_ID}/0`, headers: bearer },
      expect: { status: 404, code: "not_found" },
    },
    {
      id: "files-index-word",
      title: "image index `abc`",
      request: { method: "GET", path: `/v1/files/${JOB_ID}/abc`, headers: bearer },
      expect: { status: 400, code: "invalid_parameter", param: "index" },
    },
    {
      id: "files-index-negative",
      title: "image index `-1`",
      request: { method: "GET", path: `/v1/files/${JOB_ID}/-1`, headers: bearer },
      expect: { status: 400, code: "invalid_parameter", param: "index" },
    },
    {
      id: "files-index-huge",
      title: "image index `99999999999999999999`",
      request: { method: "GET", path: `/v1/files/${JOB_ID}/99999999999999999999`, headers: bearer },
      expect: { status: 400, code: "invalid_parameter", param: "index" },
    },
    {
      id: "files-no-key",
      title: "an image without a key",
      request: { method: "GET", path: `/v1/files/${JOB_ID}/0` },
      expect: unauthorized,
    },

    // --- Browsers and headers -----------------------------------------------------------------
    {
      id: "cors-preflight-unlisted",
      title: "a CORS preflight from an unlisted origin",
      request: {
        method: "OPTIONS",
        path: GENERATIONS,
        headers: {
          origin: "https://evil.example",
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type",
        },
      },
      expect: { status: 403, code: "forbidden" },
      headers: { absent: ["access-control-allow-origin"] },
    },
    {
      id: "cors-preflight-null-origin",
      title: "a CORS preflight from `Origin: null` (sandboxed frame)",
      request: {
        method: "OPTIONS",
        path: "/trpc/models.list",
        headers: { origin: "null", "access-control-request-method": "GET" },
      },
      expect: { status: 403, code: "forbidden" },
      headers: { absent: ["access-control-allow-origin"] },
    },
    {
      id: "cors-preflight-lookalike",
      title: `a preflight from ${allowedOrigin}.evil.example`,
      request: {
        method: "OPTIONS",
        path: "/v1/models",
        headers: {
          origin: `${allowedOrigin}.evil.example`,
          "access-control-request-method": "GET",
        },
      },
      expect: { status: 403, code: "forbidden" },
      headers: { absent: ["access-control-allow-origin"] },
    },
    {
      id: "cors-request-unlisted",
      title: "a request from an unlisted origin without a key",
      request: { method: "GET", path: "/v1/models", headers: { origin: "https://evil.example" } },
      expect: unauthorized,
      headers: { absent: ["access-control-allow-origin"] },
    },
    {
      id: "request-id-hostile",
      title: "`X-Request-Id: <script>…` is not echoed",
      request: {
        method: "GET",
        path: "/admin",
        headers: { "x-request-id": "<script>alert(1)</script>" },
      },
      expect: { status: 404, code: "not_found" },
      headers: { present: { "x-request-id": /^[0-9a-f-]{36}$/ } },
    },
  ];
}
