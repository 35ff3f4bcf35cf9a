#!/usr/bin/env node
/**
 * Makes a new Easel API key: prints the secret token (to hand to the client, once) and the entry for
 * the gateway's EASEL_API_KEYS, which keeps only the token's SHA-256.
 *
 * @example
 * node infra/scripts/hash-key.mjs --id acme --name "Acme production" --requests 120 --window 60 --concurrent 8
 * node infra/scripts/hash-key.mjs --id acme --json          # {"token","hash","entry"} for scripts
 * printf %s "$TOKEN" | node infra/scripts/hash-key.mjs --id acme --stdin   # hash an existing token
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const USAGE = `usage: node infra/scripts/hash-key.mjs --id ID [--name NAME] [--requests N] [--window SECONDS]
                                        [--concurrent N] [--stdin] [--json]
  --id          key id, [A-Za-z0-9_-]{1,64} (shows up in logs and rate-limit keys)
  --name        human-readable name (default: the id)
  --requests    requests admitted per window (default 60)
  --window      window length in seconds (default 60)
  --concurrent  jobs queued or running at once (default 4)
  --stdin       hash the token read from stdin instead of making a new one
  --json        print {"token","hash","entry"} as one JSON object`;

class UsageError extends Error {
  name = "UsageError";
}

/** Parses a positive integer option, naming the option and the value in the error. */
function positiveInt(option, value, fallback) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`--${option} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return n;
}

function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      id: { type: "string" },
      name: { type: "string" },
      requests: { type: "string" },
      window: { type: "string" },
      concurrent: { type: "string" },
      stdin: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const id = values.id;
  if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    throw new UsageError(`--id must match [A-Za-z0-9_-]{1,64}, got ${JSON.stringify(id ?? "")}`);
  }
  // 32 random bytes: 256 bits, far beyond guessing; base64url keeps it copy-paste safe.
  const token = values.stdin
    ? readFileSync(0, "utf8").trim()
    : `sk-easel-${randomBytes(32).toString("base64url")}`;
  // The gateway refuses tokens outside this range before hashing them.
  if (token.length < 16 || token.length > 256) {
    throw new UsageError(`the token must be 16 to 256 characters, got ${token.length}`);
  }
  const hash = createHash("sha256").update(token, "utf8").digest("hex");
  const entry = {
    id,
    name: values.name ?? id,
    hash,
    limits: {
      requests: positiveInt("requests", values.requests, 60),
      windowSeconds: positiveInt("window", values.window, 60),
      concurrentJobs: positiveInt("concurrent", values.concurrent, 4),
    },
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ token, hash, entry })}\n`);
    return;
  }
  const lines = values.stdin
    ? []
    : ["API key (give it to the client; it is not stored anywhere):", `  ${token}`];
  lines.push(
    `SHA-256: ${hash}`,
    "Entry for EASEL_API_KEYS (a JSON array of these):",
    `  ${JSON.stringify(entry)}`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
}

try {
  main(process.argv.slice(2));
} catch (error) {
  const usage = error instanceof UsageError || error?.code?.startsWith?.("ERR_PARSE_ARGS");
  process.stderr.write(`hash-key: ${error.message}\n${usage ? `${USAGE}\n` : ""}`);
  process.exit(usage ? 2 : 1);
}
