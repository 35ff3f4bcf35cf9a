import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";

/** One request the receiver got. */
export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>/hooks` */
  url: string;
  received: ReceivedWebhook[];
  /** Resolves with the first request matching `predicate` (already received or still to come). */
  waitFor(
    predicate: (hook: ReceivedWebhook) => boolean,
    timeoutMs?: number,
  ): Promise<ReceivedWebhook>;
  close(): Promise<void>;
}

/** A local HTTP server that records every POST and answers 204. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(204).end();
      for (const wake of waiters) wake();
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    waitFor(predicate, timeoutMs = 20_000) {
      return new Promise((ok, fail) => {
        const check = () => {
          const hit = received.find(predicate);
          if (!hit) return;
          cleanup();
          ok(hit);
        };
        const timer = setTimeout(() => {
          cleanup();
          fail(new Error(`no matching webhook within ${timeoutMs} ms (got ${received.length})`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** A fresh Standard Webhooks secret: `whsec_` + base64 of 24 random bytes. */
export const newWebhookSecret = () => `whsec_${randomBytes(24).toString("base64")}`;

/**
 * Verifies a Standard Webhooks signature, written from the spec independently of the gateway's
 * signer: HMAC-SHA256 keyed with the base64-decoded secret over `id.timestamp.body`, base64, in a
 * space-separated list of `v1,<sig>` entries; the timestamp must be within `toleranceS` of now.
 * Returns null when valid, else the reason.
 */
export function verifyStandardWebhook(
  secret: string,
  hook: ReceivedWebhook,
  { toleranceS = 300, nowS = Math.floor(Date.now() / 1000) } = {},
): string | null {
  const id = hook.headers["webhook-id"];
  const timestamp = hook.headers["webhook-timestamp"];
  const signatures = hook.headers["webhook-signature"];
  if (typeof id !== "string" || typeof timestamp !== "string" || typeof signatures !== "string") {
    return "missing webhook-id, webhook-timestamp or webhook-signature";
  }
  if (!/^\d+$/.test(timestamp) || Math.abs(nowS - Number(timestamp)) > toleranceS) {
    return `timestamp ${timestamp} is not within ${toleranceS} s of ${nowS}`;
  }
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${hook.body}`).digest();
  for (const entry of signatures.split(" ")) {
    const [version, signature] = entry.split(",", 2);
    if (version !== "v1" || !signature) continue;
    const given = Buffer.from(signature, "base64");
    if (given.length === expected.length && timingSafeEqual(given, expected)) return null;
  }
  return "no v1 signature matches";
}
