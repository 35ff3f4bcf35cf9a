# syntax=docker/dockerfile:1.7
#
# Easel inference service, CPU image (onnxruntime-node's CPU provider).
#
# Build from the repository root (the build context is the whole workspace; .dockerignore trims it):
#   docker build -f infra/docker/inference.cpu.Dockerfile -t easel-inference-cpu:0.1.0 .
# Run (the embedded Shapes model, images in a local volume):
#   docker run -p 8081:8081 -e EASEL_SHARED_SECRET=<at least 16 characters> \
#     -v easel-data:/var/lib/easel easel-inference-cpu:0.1.0
# Your own model: mount or COPY a diffusers/Optimum ONNX folder under /models and set
# EASEL_MODELS=name=/models/<folder>. S3 storage: EASEL_S3_BUCKET (+ EASEL_S3_ENDPOINT, ...).
#
# The runtime stage holds Node, the service's production dependencies and the onnxruntime binary
# for this architecture only; pnpm and the build tooling stay in the build stage.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PNPM_HOME=/pnpm \
    CI=1 \
    # onnxruntime-node's postinstall would fetch the CUDA provider on linux/x64: not in a CPU image.
    ONNXRUNTIME_NODE_INSTALL=skip
ENV PATH="${PNPM_HOME}:${PATH}"
WORKDIR /repo

# Dependencies first, from the lockfile only, so that source edits keep this layer cached.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
# pnpm at exactly the version of package.json's packageManager field (pnpm-lock.yaml's writer).
# hadolint ignore=DL3016
RUN npm install --global --no-fund --no-audit "$(node -p 'require("./package.json").packageManager')"
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm fetch --prod

COPY . .
# Production dependencies of @easel/inference and the workspace packages it uses, nothing else.
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --offline --frozen-lockfile --prod --filter "@easel/inference..."

# Keep only this platform's onnxruntime binary (the package ships darwin, win32 and linux builds).
RUN ort="$(node -p 'require("path").dirname(require.resolve("onnxruntime-node/package.json", { paths: ["packages/pipeline"] }))')" \
    && arch="$(node -p process.arch)" \
    && find "$ort/bin/napi-v6" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} + \
    && find "$ort/bin/napi-v6/linux" -mindepth 1 -maxdepth 1 ! -name "$arch" -exec rm -rf {} + \
    && test -f "$ort/bin/napi-v6/linux/$arch/onnxruntime_binding.node"

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOME=/tmp \
    EASEL_HOST=0.0.0.0 \
    EASEL_PORT=8081 \
    EASEL_PROVIDER=cpu \
    EASEL_STATE_DIR=/var/lib/easel/state \
    EASEL_STORE_DIR=/var/lib/easel/images
WORKDIR /app
# The workspace layout is kept: packages export TypeScript source, run through tsx, and the
# embedded model is found at packages/shapes/artifacts/model relative to the service.
COPY --from=build /repo/node_modules ./node_modules
COPY --from=build /repo/packages/schema ./packages/schema
COPY --from=build /repo/packages/storage ./packages/storage
COPY --from=build /repo/packages/pipeline/package.json ./packages/pipeline/package.json
COPY --from=build /repo/packages/pipeline/node_modules ./packages/pipeline/node_modules
COPY --from=build /repo/packages/pipeline/src ./packages/pipeline/src
COPY --from=build /repo/packages/shapes/artifacts ./packages/shapes/artifacts
COPY --from=build /repo/apps/inference/package.json ./apps/inference/package.json
COPY --from=build /repo/apps/inference/node_modules ./apps/inference/node_modules
COPY --from=build /repo/apps/inference/src ./apps/inference/src
COPY --from=build /repo/tsconfig.base.json ./tsconfig.base.json
COPY --from=build /repo/apps/inference/tsconfig.json ./apps/inference/tsconfig.json

# uid/gid 1000 (the image's "node" user): the Kubernetes and Cloud Run manifests run as 1000:1000.
RUN mkdir -p /var/lib/easel/state /var/lib/easel/images /models \
    && chown -R 1000:1000 /var/lib/easel /models
VOLUME ["/var/lib/easel"]
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
WORKDIR /app/apps/inference
EXPOSE 8081

# 200 while READY or BUSY; 503 while STARTING (models loading: start-period), FAILED or STOPPING.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.EASEL_PORT}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# SIGTERM drains: running batches finish (EASEL_GRACE_MS), queued work stays journaled.
STOPSIGNAL SIGTERM
CMD ["node", "--no-warnings", "--import", "tsx", "src/main.ts"]
