/** A tiny flag parser: `--name value`, `--name=value`, `--flag`, `-o value`, and positionals. */
export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

const SHORT: Record<string, string> = { o: "output", n: "n", h: "help" };

export function parseArgs(argv: readonly string[], booleanFlags: ReadonlySet<string>): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const long = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
    const short = /^-([a-z])$/.exec(arg);
    const name = long?.[1] ?? (short?.[1] ? SHORT[short[1]] : undefined);
    if (!name) {
      if (arg.startsWith("-") && arg.length > 1 && !/^-\d/.test(arg))
        throw new UsageError(`unknown option ${arg}`);
      positionals.push(arg);
      continue;
    }
    if (booleanFlags.has(name)) flags.set(name, true);
    else if (long?.[2] !== undefined) flags.set(name, long[2]);
    else {
      const value = argv[i + 1];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      flags.set(name, value);
      i++;
    }
  }
  return { positionals, flags };
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function intFlag(flags: Map<string, string | true>, name: string): number | undefined {
  const value = flags.get(name);
  if (value === undefined) return undefined;
  if (value === true || !/^-?\d+$/.test(value))
    throw new UsageError(`--${name} must be an integer, got ${String(value)}`);
  return Number(value);
}

export function numberFlag(flags: Map<string, string | true>, name: string): number | undefined {
  const value = flags.get(name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value === true || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a number, got ${String(value)}`);
  return n;
}

export function stringFlag(flags: Map<string, string | true>, name: string): string | undefined {
  const value = flags.get(name);
  if (value === true) throw new UsageError(`--${name} needs a value`);
  return value;
}
