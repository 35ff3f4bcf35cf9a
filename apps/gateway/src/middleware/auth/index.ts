import { EaselError } from "@easel/schema";
import type { MiddlewareHandler } from "hono";
import type { ApiKey, KeyStore } from "../../keys/keys.ts";

export type AuthVariables = { apiKey: ApiKey };

export interface AuthOptions {
  keys: KeyStore;
}

/**
 * Requires `Authorization: Bearer <token>` with a known API key and sets `c.var.apiKey`. Missing or
 * unknown keys are 401 `unauthorized` with a `WWW-Authenticate` challenge.
 *
 * @example
 * app.use("/v1/*", auth({ keys }));
 */
export function auth({ keys }: AuthOptions): MiddlewareHandler<{ Variables: AuthVariables }> {
  if (!keys) throw new TypeError("auth: keys is required");
  return async function authMiddleware(c, next) {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(header.trim());
    c.header("www-authenticate", 'Bearer realm="easel"');
    if (!match?.[1])
      throw new EaselError("unauthorized", "missing API key: send Authorization: Bearer <key>");
    const key = await keys.verify(match[1]);
    if (!key) throw new EaselError("unauthorized", "invalid API key");
    c.res.headers.delete("www-authenticate");
    c.set("apiKey", key);
    await next();
  };
}
