/** Reading the repository's TypeScript sources as text, for the docs tests. */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

/** A file of the repository as text. */
export function readRepoFile(path: string): string {
  return readFileSync(resolve(REPO_ROOT, path), "utf8");
}

/** Source text without comments: JSDoc examples mention names that nothing reads. */
export function code(path: string): string {
  return readRepoFile(path)
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'])\/\/.*$/gm, "$1");
}

/** Non-test TypeScript sources under `dir` (test helpers in `testing/` are not configuration). */
export function sources(dir: string): string[] {
  return readdirSync(resolve(REPO_ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".test.ts"))
    .map((e) => relative(REPO_ROOT, join(e.parentPath, e.name)))
    .filter((path) => !path.split("/").includes("testing"));
}

/** Vite's own variables, not settings of ours. */
const VITE_BUILTINS = new Set(["DEV", "PROD", "MODE", "SSR", "BASE_URL"]);

/** Settings read as `env["NAME"]` or `env.NAME` (process.env, import.meta.env, a Workers env). */
export function envReads(paths: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const path of paths) {
    const reads = code(path).matchAll(
      /\benv(?:\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]|\.([A-Z][A-Z0-9_]*))/g,
    );
    for (const m of reads) {
      const name = m[1] ?? m[2];
      if (name && !VITE_BUILTINS.has(name)) names.add(name);
    }
  }
  return names;
}

/** Keys of a zod object schema declared as `const NAME = z.object({ … });` in a file. */
export function schemaKeys(path: string, constName: string): Set<string> {
  const body = new RegExp(`const ${constName} = z\\.object\\(\\{([\\s\\S]*?)\\n\\}\\);`).exec(
    code(path),
  )?.[1];
  if (body === undefined) throw new Error(`${path}: schema ${constName} not found`);
  return new Set([...body.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1] ?? ""));
}

/** Members of a TypeScript interface (`name?: type;`). */
export function interfaceKeys(path: string, name: string): Set<string> {
  const body = new RegExp(`interface ${name} \\{([^}]*)\\}`).exec(code(path))?.[1];
  if (body === undefined) throw new Error(`${path}: interface ${name} not found`);
  return new Set([...body.matchAll(/^\s+(\w+)\??:/gm)].map((m) => m[1] ?? ""));
}

export const minus = (a: Set<string>, b: Set<string>) => new Set([...a].filter((x) => !b.has(x)));
export const sorted = (s: Iterable<string>) => [...s].sort();
