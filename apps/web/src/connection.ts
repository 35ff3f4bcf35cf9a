/** Where the page sends its requests: the gateway's base URL and the API key it sends. */
export interface Connection {
  baseUrl: string;
  apiKey: string;
}

/** The localStorage key under which the last connection used is remembered. */
export const CONNECTION_STORAGE_KEY = "easel.connection";

/** Defaults from `VITE_EASEL_BASE_URL` / `VITE_EASEL_API_KEY` (in dev, from `up`'s stack.json). */
export type EnvDefaults = Partial<Record<keyof Connection, string | undefined>>;

/** The places a connection can come from. */
export interface ConnectionSources {
  /** `location.search`: `?baseUrl=...&apiKey=...` (links from `up`, the browser test). */
  search: string;
  /** What {@link CONNECTION_STORAGE_KEY} holds (see {@link rememberedConnection}), or null. */
  stored: string | null;
  env: EnvDefaults;
}

/**
 * Picks the connection to prefill, field by field: the query string first, so a shared link
 * always means what it says; then what was remembered, unless the env default has changed since it
 * was remembered (`up` makes a new key on every start, and a new default is newer news); then the
 * env default.
 *
 * @example
 * resolveConnection({ search: "?baseUrl=http://127.0.0.1:8787", stored: null, env: { apiKey: "sk-1" } });
 * // { baseUrl: "http://127.0.0.1:8787", apiKey: "sk-1" }
 */
export function resolveConnection({ search, stored, env }: ConnectionSources): Connection {
  const query = new URLSearchParams(search);
  const remembered = parseStored(stored);
  const field = (name: keyof Connection): string => {
    const fromEnv = clean(env[name]);
    const envIsNew = fromEnv !== "" && fromEnv !== clean(remembered.env?.[name]);
    const candidates = [query.get(name), envIsNew ? fromEnv : remembered[name], fromEnv];
    return candidates.map(clean).find((v) => v) ?? "";
  };
  return { baseUrl: field("baseUrl"), apiKey: field("apiKey") };
}

/**
 * What to store under {@link CONNECTION_STORAGE_KEY}: the connection, and the env defaults it was
 * made under, so {@link resolveConnection} can tell a changed default from an old one.
 */
export function rememberedConnection(connection: Connection, env: EnvDefaults): string {
  return JSON.stringify({ ...connection, env });
}

/**
 * The query string without the connection parameters, so the API key does not linger in the
 * address bar or the history once it has been remembered.
 */
export function searchWithoutConnection(search: string): string {
  const query = new URLSearchParams(search);
  query.delete("baseUrl");
  query.delete("apiKey");
  const rest = query.toString();
  return rest ? `?${rest}` : "";
}

/** Checks a base URL before any request is made; returns a message naming the problem, or null. */
export function validateBaseUrl(baseUrl: string): string | null {
  if (!baseUrl) return "Gateway URL is required";
  // Checked before parsing: `localhost:8787` parses as a URL with the scheme `localhost:`.
  if (!/^https?:\/\//i.test(baseUrl)) {
    return `Gateway URL must start with http:// or https://, got ${JSON.stringify(baseUrl)}`;
  }
  if (!URL.canParse(baseUrl)) return `Gateway URL is not a valid URL: ${JSON.stringify(baseUrl)}`;
  return null;
}

interface Remembered extends Partial<Connection> {
  env?: EnvDefaults;
}

function parseStored(stored: string | null): Remembered {
  if (!stored) return {};
  try {
    const value = JSON.parse(stored) as Record<string, unknown>;
    const env = (value["env"] ?? {}) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === "string" ? v : undefined);
    const remembered: Remembered = {
      env: { baseUrl: text(env["baseUrl"]), apiKey: text(env["apiKey"]) },
    };
    const baseUrl = text(value["baseUrl"]);
    const apiKey = text(value["apiKey"]);
    if (baseUrl) remembered.baseUrl = baseUrl;
    if (apiKey) remembered.apiKey = apiKey;
    return remembered;
  } catch {
    // A hand-edited or foreign value is ignored rather than breaking the page.
    return {};
  }
}

function clean(value: string | null | undefined): string {
  return value?.trim() ?? "";
}
