import { connect, type Socket } from "node:net";

/** One target: where to send, and the exact request bytes (HTTP/1.1, keep-alive). */
export interface LoadTarget {
  port: number;
  request: Buffer;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  /** Latencies in µs, one per completed request. */
  latenciesUs: Float64Array;
  /** Answers whose status was not `expectStatus`. */
  unexpected: number;
}

/** Builds the bytes of a GET with the given headers. */
export function getRequest(path: string, headers: Record<string, string> = {}): Buffer {
  const lines = [`GET ${path} HTTP/1.1`, "host: 127.0.0.1", "connection: keep-alive"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
}

/**
 * A closed-loop HTTP/1.1 load generator on raw sockets: `connections` keep-alive connections, each
 * sending the next request as soon as the previous answer is complete, until `durationMs` has
 * passed or `maxRequests` answers have arrived. Each answer is framed by its Content-Length;
 * latency is measured with the monotonic clock in µs. Cheaper per request than an HTTP client, so
 * the server, not the generator, is what runs out of CPU first.
 */
export async function runLoad(
  target: LoadTarget,
  {
    connections,
    durationMs = Number.POSITIVE_INFINITY,
    maxRequests = Number.POSITIVE_INFINITY,
    expectStatus = 200,
  }: { connections: number; durationMs?: number; maxRequests?: number; expectStatus?: number },
): Promise<LoadResult> {
  const latencies: number[] = [];
  let unexpected = 0;
  let started = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.min(durationMs, 3_600_000)) * 1_000_000n;
  const expected = `HTTP/1.1 ${expectStatus}`;

  const runConnection = () =>
    new Promise<void>((resolve, reject) => {
      const socket: Socket = connect({ host: "127.0.0.1", port: target.port, noDelay: true });
      let buffered: Buffer = Buffer.alloc(0);
      let sentAt = 0n;
      const sendNext = () => {
        if (started >= maxRequests || process.hrtime.bigint() >= deadline) {
          socket.end();
          return resolve();
        }
        started++;
        sentAt = process.hrtime.bigint();
        socket.write(target.request);
      };
      socket.on("connect", sendNext);
      socket.on("error", reject);
      socket.on("data", (chunk: Buffer) => {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        for (;;) {
          const headerEnd = buffered.indexOf("\r\n\r\n");
          if (headerEnd < 0) return;
          const head = buffered.subarray(0, headerEnd).toString("latin1");
          const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
          if (!length) return reject(new Error(`answer without Content-Length:\n${head}`));
          const total = headerEnd + 4 + Number(length[1]);
          if (buffered.length < total) return;
          latencies.push(Number(process.hrtime.bigint() - sentAt) / 1000);
          if (!head.startsWith(expected)) unexpected++;
          buffered = buffered.subarray(total);
          sendNext();
        }
      });
    });

  await Promise.all(Array.from({ length: connections }, runConnection));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return {
    requests: latencies.length,
    seconds,
    latenciesUs: Float64Array.from(latencies),
    unexpected,
  };
}

/** The `q`-quantile (0..1) of `values`, by the nearest-rank method. */
export function quantile(values: Float64Array, q: number): number {
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** The median of a few numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
