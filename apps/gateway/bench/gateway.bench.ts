/**
 * What the gateway's middleware chain costs: throughput and latency of `GET /v1/models` through
 * the real `createApp()` (request id, access log, CORS, body limit, auth, rate limit, route; stub
 * inference backend) against a bare Hono route answering the same JSON, both served by
 * @hono/node-server in one child process, measured in the same run, round by round, in
 * alternating order.
 *
 *   pnpm bench:gateway [--rounds 5] [--seconds 3] [--connections 32] [--latency-requests 3000]
 *
 * Throughput: `--connections` keep-alive connections, closed loop, for `--seconds`. Latency: one
 * connection, one request at a time (no queueing), `--latency-requests` requests; "added" is the
 * gateway's percentile minus the bare route's. Figures are medians over rounds. Targets: gateway
 * throughput >= 50% of the bare route's, p50 added <= 1 ms.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { cpus, loadavg } from "node:os";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { getRequest, type LoadTarget, median, quantile, runLoad } from "./load.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    seconds: { type: "string", default: "3" },
    connections: { type: "string", default: "32" },
    "latency-requests": { type: "string", default: "3000" },
  },
});
const ROUNDS = Number(args.rounds);
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const LATENCY_REQUESTS = Number(args["latency-requests"]);

const repoRoot = resolve(import.meta.dirname, "../../..");
const child = spawn(process.execPath, ["--import", "tsx", "apps/gateway/bench/servers.ts"], {
  cwd: repoRoot,
  stdio: ["ignore", "pipe", "inherit"],
});
const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
const ports = JSON.parse(line) as { bare: number; gateway: number; token: string };

const targets: Record<"bare" | "gateway", LoadTarget> = {
  bare: { port: ports.bare, request: getRequest("/v1/models") },
  gateway: {
    port: ports.gateway,
    request: getRequest("/v1/models", { authorization: `Bearer ${ports.token}` }),
  },
};

interface Round {
  rps: Record<"bare" | "gateway", number>;
  p50Us: Record<"bare" | "gateway", number>;
  p99Us: Record<"bare" | "gateway", number>;
}

try {
  console.log(
    `gateway bench: ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}, node ${process.version}`,
  );
  console.log(
    `${ROUNDS} rounds: ${CONNECTIONS} connections x ${SECONDS} s for throughput, 1 connection x ${LATENCY_REQUESTS} requests for latency`,
  );
  // Warm-up: JIT, the model cache, the key's limiter entry.
  for (const target of Object.values(targets)) {
    const warm = await runLoad(target, { connections: CONNECTIONS, durationMs: 1500 });
    if (warm.unexpected > 0) throw new Error(`warm-up: ${warm.unexpected} answers were not 200`);
  }

  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? (["bare", "gateway"] as const) : (["gateway", "bare"] as const);
    const round: Round = {
      rps: { bare: 0, gateway: 0 },
      p50Us: { bare: 0, gateway: 0 },
      p99Us: { bare: 0, gateway: 0 },
    };
    for (const name of order) {
      const load = await runLoad(targets[name], {
        connections: CONNECTIONS,
        durationMs: SECONDS * 1000,
      });
      const latency = await runLoad(targets[name], {
        connections: 1,
        maxRequests: LATENCY_REQUESTS,
      });
      if (load.unexpected + latency.unexpected > 0)
        throw new Error(`${name}: answers that were not 200`);
      round.rps[name] = load.requests / load.seconds;
      round.p50Us[name] = quantile(latency.latenciesUs, 0.5);
      round.p99Us[name] = quantile(latency.latenciesUs, 0.99);
    }
    rounds.push(round);
    console.log(
      `round ${r + 1}: bare ${round.rps.bare.toFixed(0)} req/s, gateway ${round.rps.gateway.toFixed(0)} req/s (${((100 * round.rps.gateway) / round.rps.bare).toFixed(1)}%); p50 ${ms(round.p50Us.bare)} / ${ms(round.p50Us.gateway)} ms, p99 ${ms(round.p99Us.bare)} / ${ms(round.p99Us.gateway)} ms`,
    );
  }

  const med = (pick: (r: Round) => number) => median(rounds.map(pick));
  const ratio = med((r) => r.rps.gateway / r.rps.bare);
  const addedP50 = med((r) => r.p50Us.gateway - r.p50Us.bare);
  const addedP99 = med((r) => r.p99Us.gateway - r.p99Us.bare);
  console.log("");
  console.log("| GET /v1/models | req/s | p50 (ms) | p99 (ms) |");
  console.log("| --- | --- | --- | --- |");
  console.log(
    `| bare Hono route | ${med((r) => r.rps.bare).toFixed(0)} | ${ms(med((r) => r.p50Us.bare))} | ${ms(med((r) => r.p99Us.bare))} |`,
  );
  console.log(
    `| gateway (full chain) | ${med((r) => r.rps.gateway).toFixed(0)} | ${ms(med((r) => r.p50Us.gateway))} | ${ms(med((r) => r.p99Us.gateway))} |`,
  );
  console.log(
    `| gateway / bare, added | ${(100 * ratio).toFixed(1)}% | +${ms(addedP50)} | +${ms(addedP99)} |`,
  );
  console.log("");
  console.log(
    `throughput >= 50% of bare: ${ratio >= 0.5 ? "met" : "MISSED"} (${(100 * ratio).toFixed(1)}%)`,
  );
  console.log(`p50 added <= 1 ms: ${addedP50 <= 1000 ? "met" : "MISSED"} (${ms(addedP50)} ms)`);
} finally {
  child.kill("SIGTERM");
}

function ms(us: number): string {
  return (us / 1000).toFixed(3);
}
