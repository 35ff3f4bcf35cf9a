import { Agent, type IncomingHttpHeaders, request } from "node:http";

export interface BurstResponse {
  /** Which base URL answered. */
  target: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface BurstOptions {
  /** Base URLs; client `i` talks to `targets[i % targets.length]`. */
  targets: readonly string[];
  path: string;
  headers: Record<string, string>;
  /** Requests in all. */
  total: number;
  /** Concurrent clients, each on its own keep-alive connection. */
  clients: number;
}

/**
 * Fires `total` GET requests from `clients` concurrent clients (one keep-alive connection each,
 * spread over `targets`), all started at once, and returns every answer.
 */
export async function burst({
  targets,
  path,
  headers,
  total,
  clients,
}: BurstOptions): Promise<BurstResponse[]> {
  const agents = Array.from(
    { length: clients },
    () => new Agent({ keepAlive: true, maxSockets: 1 }),
  );
  try {
    return await Promise.all(
      Array.from({ length: total }, (_, i) => {
        const client = i % clients;
        return get(targets[client % targets.length]!, path, headers, agents[client]!);
      }),
    );
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

async function get(
  target: string,
  path: string,
  headers: Record<string, string>,
  agent: Agent,
): Promise<BurstResponse> {
  const url = new URL(path, target);
  return await new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      { method: "GET", headers, agent, timeout: 30_000 },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () =>
          resolve({
            target,
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    outgoing.on("timeout", () => outgoing.destroy(new Error(`GET ${url}: no answer in 30 s`)));
    outgoing.on("error", reject);
    outgoing.end();
  });
}
