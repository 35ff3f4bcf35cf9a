/**
 * Completion webhooks signed with the Standard Webhooks scheme: headers `webhook-id`,
 * `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256(id.timestamp.body)>`, the
 * key being the base64 part of a `whsec_` secret.
 */
export interface WebhookSigner {
  sign(id: string, timestamp: number, body: string): Promise<Record<string, string>>;
}

export function standardWebhookSigner(secret: string): WebhookSigner {
  const base64 = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  const keyBytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
  if (keyBytes.length < 16)
    throw new Error("webhook secret must be whsec_ + base64 of at least 16 bytes");
  const key = crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return {
    async sign(id, timestamp, body) {
      const mac = await crypto.subtle.sign(
        "HMAC",
        await key,
        new TextEncoder().encode(`${id}.${timestamp}.${body}`),
      );
      return {
        "webhook-id": id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": `v1,${btoa(String.fromCharCode(...new Uint8Array(mac)))}`,
      };
    },
  };
}

/** Seconds between delivery attempts; after the last, the webhook is given up. */
export const WEBHOOK_BACKOFF_S = [0, 5, 30, 120, 600, 1800, 3600] as const;

/**
 * Decides whether a webhook URL may be called. Implementations resolve the host (Node) or look at
 * the literal address (Workers, where the platform itself cannot reach private networks).
 */
export interface AddressPolicy {
  /** A reason when the URL is refused, else null. */
  check(url: URL): Promise<string | null>;
}

/**
 * The IPv4 address inside an IPv4-mapped or -compatible IPv6 address in hex form (`::ffff:7f00:1`,
 * `::7f00:1`), which is how URL parsing writes `[::ffff:127.0.0.1]`; null for other addresses.
 */
function embeddedIpv4(v6: string): string | null {
  const match = /^::(?:ffff:(?:0:)?)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (!match) return null;
  const [high, low] = [Number.parseInt(match[1]!, 16), Number.parseInt(match[2]!, 16)];
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** True for loopback, private, link-local, CGNAT, unique-local and unspecified addresses. */
export function isPrivateAddress(address: string): boolean {
  const embedded = embeddedIpv4(address.toLowerCase().replace(/^\[|\]$/g, ""));
  if (embedded) return isPrivateAddress(embedded);
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address.replace(/^::ffff:/i, ""));
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      a >= 224
    );
  }
  const v6 = address.toLowerCase().replace(/^\[|\]$/g, "");
  return (
    v6 === "::" ||
    v6 === "::1" ||
    v6.startsWith("fc") ||
    v6.startsWith("fd") ||
    v6.startsWith("fe8") ||
    v6.startsWith("fe9") ||
    v6.startsWith("fea") ||
    v6.startsWith("feb")
  );
}

/** Refuses literal private addresses and `localhost` names; used where DNS cannot be resolved. */
export const literalAddressPolicy = (allowPrivate: boolean): AddressPolicy => ({
  async check(url) {
    if (allowPrivate) return null;
    const host = url.hostname.toLowerCase();
    if (host === "localhost" || host.endsWith(".localhost") || isPrivateAddress(host)) {
      return `webhook_url host ${host} is a private or loopback address`;
    }
    return null;
  },
});
