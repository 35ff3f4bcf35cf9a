import { type IncomingHttpHeaders, request } from "node:http";

/** A request exactly as written: the path is not normalised and the headers are sent as bytes. */
export interface RawRequest {
  method: string;
  /** Sent verbatim (`/v1/files/../x` stays as it is). */
  path: string;
  /** Header values are byte strings: `latin1(utf8(value))` puts UTF-8 on the wire. */
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Send the body with `Transfer-Encoding: chunked` and no Content-Length. */
  chunked?: boolean;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The parsed body, or `undefined` when it is empty or not JSON. */
  json: unknown;
}

/**
 * Sends one HTTP/1.1 request on its own connection (a hostile request must not poison a pooled
 * socket for the next case) and reads the whole answer. A server that answers before reading the
 * whole body (413) is fine: write errors after the response has started are ignored.
 */
export async function send(
  baseUrl: string,
  req: RawRequest,
  timeoutMs = 30_000,
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const body = typeof req.body === "string" ? Buffer.from(req.body, "utf8") : req.body;
  // keep-alive, so the server drains a body it refused (413) instead of closing on it, which
  // would reset the connection before the client reads the answer; the socket is dropped after.
  const headers: Record<string, string> = { connection: "keep-alive", ...req.headers };
  if (body && !req.chunked) headers["content-length"] = String(body.byteLength);
  return await new Promise((resolve, reject) => {
    let answered = false;
    const outgoing = request(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        headers,
        agent: false,
        timeout: timeoutMs,
      },
      (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () => {
          outgoing.destroy();
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
        });
      },
    );
    outgoing.on("timeout", () =>
      outgoing.destroy(new Error(`${req.method} ${req.path}: no answer in ${timeoutMs} ms`)),
    );
    outgoing.on("error", (error) => {
      if (!answered) reject(error);
    });
    if (body && req.chunked) {
      // Several chunks, so the server sees a streamed body of unknown length.
      const step = 256 * 1024;
      for (let i = 0; i < body.byteLength; i += step) outgoing.write(body.subarray(i, i + step));
      outgoing.end();
    } else {
      outgoing.end(body);
    }
  });
}

/** A header value carrying `text` as UTF-8 bytes (Node sends header strings as latin1). */
export const utf8Header = (text: string) => Buffer.from(text, "utf8").toString("latin1");
