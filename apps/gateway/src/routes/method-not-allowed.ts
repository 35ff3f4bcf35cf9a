import { EaselError } from "@easel/schema";
import type { Handler } from "hono";

/**
 * The handler for a known path called with a method it does not serve: 405 `method_not_allowed`
 * with the `Allow` header (RFC 9110 §15.5.6), instead of a 404 that would claim the path does not
 * exist. Register it with `app.all(path, ...)` after the path's real routes.
 *
 * @example
 * app.get("/health", health);
 * app.all("/health", methodNotAllowed("GET, HEAD"));
 */
export function methodNotAllowed(allow: string): Handler {
  return function methodNotAllowedHandler(c) {
    c.header("allow", allow);
    throw new EaselError("method_not_allowed", `${c.req.method} is not allowed here; use ${allow}`);
  };
}
