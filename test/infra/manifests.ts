import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseAllDocuments } from "yaml";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");

/** A Kubernetes object as written in a template, with the file it came from. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  file: string;
  [key: string]: unknown;
}

/** Every YAML document of a file (comments and `---` separators handled by the yaml package). */
export function readYamlDocuments(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  return docs.flatMap((doc) => {
    if (doc.errors.length > 0) {
      throw new Error(`${relative(REPO_ROOT, file)}: ${doc.errors[0]?.message}`);
    }
    const value = doc.toJS() as unknown;
    return value === null || value === undefined ? [] : [value];
  });
}

/** Reads a KEY=VALUE file the way kustomize's `envs:` does: `#` comments and blank lines ignored. */
export function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const eq = trimmed.indexOf("=");
    if (eq <= 0) throw new Error(`${relative(REPO_ROOT, file)}: not KEY=VALUE: ${line}`);
    env[trimmed.slice(0, eq)] = trimmed.slice(eq + 1);
  }
  return env;
}

/** The parts of a kustomization.yaml these checks follow. */
export interface Kustomization {
  dir: string;
  kind: string;
  namespace?: string;
  resources: string[];
  components: string[];
  patches: string[];
  /** Files named by configMapGenerator (`envs:` and `files:`). */
  generatorFiles: string[];
  configMapGenerator: { name: string; envs?: string[]; files?: string[]; literals?: string[] }[];
}

export function readKustomization(dir: string): Kustomization {
  const [raw] = readYamlDocuments(join(dir, "kustomization.yaml")) as Record<string, unknown>[];
  if (!raw) throw new Error(`${relative(REPO_ROOT, dir)}/kustomization.yaml is empty`);
  const generators = (raw["configMapGenerator"] ?? []) as Kustomization["configMapGenerator"];
  return {
    dir,
    kind: String(raw["kind"]),
    ...(typeof raw["namespace"] === "string" ? { namespace: raw["namespace"] } : {}),
    resources: (raw["resources"] ?? []) as string[],
    components: (raw["components"] ?? []) as string[],
    patches: ((raw["patches"] ?? []) as { path: string }[]).map((p) => p.path),
    generatorFiles: generators.flatMap((g) => [...(g.envs ?? []), ...(g.files ?? [])]),
    configMapGenerator: generators,
  };
}

/** Directories under `root` (itself included) that hold a kustomization.yaml. */
export function kustomizationDirs(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    if (existsSync(join(dir, "kustomization.yaml"))) found.push(dir);
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
    }
  };
  walk(root);
  return found.sort();
}

/**
 * The Kubernetes objects of every kustomization under `root`: the files listed as resources (not
 * patches, which are partial objects, nor generator inputs).
 */
export function loadManifests(root: string): Manifest[] {
  return kustomizationDirs(root).flatMap((dir) => {
    const k = readKustomization(dir);
    return k.resources
      .map((entry) => join(dir, entry))
      .filter((path) => statSync(path).isFile())
      .flatMap((file) =>
        readYamlDocuments(file).map((doc) => ({ ...(doc as Manifest), file: rel(file) })),
      );
  });
}

export const rel = (path: string) => relative(REPO_ROOT, path);

export function find(manifests: Manifest[], kind: string, name: string): Manifest {
  const match = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!match) throw new Error(`no ${kind} named ${name} in infra/k8s`);
  return match;
}

/** True when every label of `selector` is on `labels` (how Services, PDBs and workloads match pods). */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
) {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}
