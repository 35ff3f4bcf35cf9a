/** Just enough Markdown reading for the docs tests: sections, pipe tables and code spans. */

export interface Table {
  header: string[];
  rows: string[][];
}

/**
 * The part of `markdown` under the heading whose text is `heading` (e.g. "## tRPC"), up to the next
 * heading of the same or a higher level.
 */
export function section(markdown: string, heading: string): string {
  const lines = markdown.split("\n");
  const start = lines.findIndex((line) => line.trim() === heading);
  if (start < 0) throw new Error(`no heading ${JSON.stringify(heading)}`);
  const level = /^#+/.exec(heading)?.[0].length ?? 1;
  let end = start + 1;
  let fenced = false;
  for (; end < lines.length; end++) {
    const line = lines[end] ?? "";
    if (line.trimStart().startsWith("```")) fenced = !fenced;
    const hashes = fenced ? undefined : /^(#+) /.exec(line)?.[1];
    if (hashes && hashes.length <= level) break;
  }
  return lines.slice(start + 1, end).join("\n");
}

/** Every pipe table of `text`, in order (code fences are skipped). */
export function tables(text: string): Table[] {
  const found: Table[] = [];
  const lines = text.split("\n");
  let fenced = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (line.trimStart().startsWith("```")) fenced = !fenced;
    if (fenced || !line.startsWith("|") || !/^\|[\s:|-]+\|$/.test(lines[i + 1] ?? "")) continue;
    const table: Table = { header: splitRow(line), rows: [] };
    for (i += 2; i < lines.length && lines[i]?.startsWith("|"); i++) {
      table.rows.push(splitRow(lines[i] ?? ""));
    }
    found.push(table);
  }
  return found;
}

/** The one table of `text` whose header row is exactly `header`. */
export function tableWithHeader(text: string, header: readonly string[]): Table {
  const matches = tables(text).filter((t) => t.header.join("|") === header.join("|"));
  if (matches.length !== 1) {
    throw new Error(`expected one table headed ${header.join(" | ")}, found ${matches.length}`);
  }
  return matches[0] as Table;
}

/** Cells of a table row; `\|` inside a cell is not a separator. */
export function splitRow(row: string): string[] {
  return row
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

/** The code spans of a cell: "`width`, `height`" -> ["width", "height"]. */
export function codeSpans(cell: string | undefined): string[] {
  return [...(cell ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? "");
}
