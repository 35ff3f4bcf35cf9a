import { adversarialCases } from "./cases.ts";

/** The CORS origin the tables in docs/ERRORS.md are written with. */
export const DOC_ALLOWED_ORIGIN = "https://app.easel.test";

const escapePipes = (text: string) => text.replaceAll("|", "\\|");
/** The path without its query string (tRPC inputs are given in the description). */
const endpoint = (path: string) => path.split("?")[0] ?? path;

/**
 * The adversarial case table as Markdown, exactly as docs/ERRORS.md carries it: one row per case
 * with its endpoint, what is sent, and the status, code and param it must get.
 */
export function caseTableMarkdown(): string {
  const rows = adversarialCases({ token: "sk-…", allowedOrigin: DOC_ALLOWED_ORIGIN }).map((c) => {
    const code = c.expect.code === null ? "(no body)" : `\`${c.expect.code}\``;
    const param = c.expect.param === undefined ? "" : `\`${c.expect.param}\``;
    const sent = `\`${c.request.method} ${endpoint(c.request.path)}\``;
    return `| \`${c.id}\` | ${sent} | ${escapePipes(c.title)} | ${c.expect.status} | ${code} | ${param} |`;
  });
  return [
    "| Case | Endpoint | What is sent | Status | Code | Param |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}
