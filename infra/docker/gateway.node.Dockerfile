# syntax=docker/dockerfile:1.7
#
# Easel gateway on Node (the alternative to Cloudflare Workers): infra/k8s/gateway-node runs it.
#
# Build from the repository root:
#   docker build -f infra/docker/gateway.node.Dockerfile -t easel-gateway:0.1.0 .
# Run:
#   docker run -p 8787:8787 -e EASEL_SHARED_SECRET=... -e EASEL_INFERENCE_URLS=http://inference:8081 \
#     -e EASEL_API_KEYS_FILE=/run/secrets/keys.json -e REDIS_URL=redis://redis:6379 easel-gateway:0.1.0
# Job records live in EASEL_GATEWAY_DATA_DIR (a volume); rate limits in Redis when REDIS_URL is set.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PNPM_HOME=/pnpm \
    CI=1 \
    ONNXRUNTIME_NODE_INSTALL=skip
ENV PATH="${PNPM_HOME}:${PATH}"
WORKDIR /repo

COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
# hadolint ignore=DL3016
RUN npm install --global --no-fund --no-audit "$(node -p 'require("./package.json").packageManager')"
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm fetch --prod

COPY . .
# Production dependencies of @easel/gateway and the workspace packages it uses (api, schema).
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --offline --frozen-lockfile --prod --filter "@easel/gateway..."

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOME=/tmp \
    HOST=0.0.0.0 \
    PORT=8787 \
    EASEL_GATEWAY_DATA_DIR=/var/lib/easel/gateway
WORKDIR /app
COPY --from=build /repo/node_modules ./node_modules
COPY --from=build /repo/tsconfig.base.json ./tsconfig.base.json
COPY --from=build /repo/packages/schema ./packages/schema
COPY --from=build /repo/packages/api/package.json ./packages/api/package.json
COPY --from=build /repo/packages/api/node_modules ./packages/api/node_modules
COPY --from=build /repo/packages/api/src ./packages/api/src
COPY --from=build /repo/apps/gateway/package.json ./apps/gateway/package.json
COPY --from=build /repo/apps/gateway/node_modules ./apps/gateway/node_modules
COPY --from=build /repo/apps/gateway/src ./apps/gateway/src
COPY --from=build /repo/apps/gateway/tsconfig.json ./apps/gateway/tsconfig.json

RUN mkdir -p /var/lib/easel/gateway && chown -R 1000:1000 /var/lib/easel
VOLUME ["/var/lib/easel"]
USER 1000:1000
WORKDIR /app/apps/gateway
EXPOSE 8787

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

STOPSIGNAL SIGTERM
CMD ["node", "--no-warnings", "--import", "tsx", "src/entry.node.ts"]
