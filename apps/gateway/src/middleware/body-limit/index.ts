import { EaselError } from "@easel/schema";
import type { MiddlewareHandler } from "hono";

export interface BodyLimitOptions {
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /**
   * How much more of a refused streamed body is read and dropped before it is cancelled. Default:
   * `maxBytes`.
   */
  drainBytes?: number;
}

/**
 * Refuses request bodies over `maxBytes` with 413 `payload_too_large`: at once from
 * `Content-Length`, or while reading a body of unknown length (chunked), which is then buffered so
 * the route can read it again.
 *
 * A streamed body refused half way is read on (up to `drainBytes`) before the 413: a proxy in
 * front can reuse the connection only once the body is consumed (under `wrangler dev`, the request
 * after a half-read chunked body got a 503 "worker restarted mid-request"). Past `drainBytes` it is
 * cancelled, so an endless body cannot hold the gateway.
 *
 * @example
 * app.use(bodyLimit({ maxBytes: 8 * 1024 * 1024 }));
 */
export function bodyLimit({
  maxBytes,
  drainBytes = maxBytes,
}: BodyLimitOptions): MiddlewareHandler {
  for (const [name, value] of Object.entries({ maxBytes, drainBytes })) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new TypeError(`bodyLimit: ${name} must be a non-negative integer, got ${value}`);
  }
  const tooLarge = () =>
    new EaselError("payload_too_large", `request body must be <= ${maxBytes} bytes`);
  return async function bodyLimitMiddleware(c, next) {
    // GET and HEAD routes never read a body; not touching `raw.body` spares @hono/node-server
    // from building a full Request (stream, AbortSignal) for them.
    if (c.req.method === "GET" || c.req.method === "HEAD") return await next();
    const body = c.req.raw.body;
    if (!body) return await next();
    const length = c.req.header("content-length");
    if (length !== undefined && c.req.header("transfer-encoding") === undefined) {
      if (Number(length) > maxBytes) throw tooLarge();
      return await next();
    }
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await drain(reader, drainBytes);
        throw tooLarge();
      }
      chunks.push(value);
    }
    const buffered = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      buffered.set(chunk, offset);
      offset += chunk.byteLength;
    }
    c.req.raw = new Request(c.req.raw, { body: buffered });
    await next();
  };
}

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, limit: number) {
  try {
    for (let read = 0; read <= limit; ) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // The client went away: nothing left to drain.
  }
}
