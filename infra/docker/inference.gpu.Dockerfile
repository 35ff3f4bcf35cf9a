# syntax=docker/dockerfile:1.7
#
# Easel inference service, NVIDIA GPU image: CUDA 12 + cuDNN 9 runtime, Node 20, and
# onnxruntime-node with its CUDA execution provider (EASEL_PROVIDER=cuda).
#
# Build from the repository root (linux/amd64 only: the CUDA provider binaries exist for x64 only):
#   docker build -f infra/docker/inference.gpu.Dockerfile -t easel-inference-gpu:0.1.0 .
# Run (needs the NVIDIA Container Toolkit on the host):
#   docker run --gpus all -p 8081:8081 -e EASEL_SHARED_SECRET=<at least 16 characters> \
#     -v easel-data:/var/lib/easel easel-inference-gpu:0.1.0
# Your own model: COPY --chown=1000:1000 or mount a diffusers/Optimum ONNX folder under /models
# and set EASEL_MODELS=name=/models/<folder>.
#
# onnxruntime-node 1.23 ships the CPU provider in its npm package; the CUDA provider
# (libonnxruntime_providers_cuda.so and _shared.so, built for CUDA 12.x and cuDNN 9.x) is fetched
# by the package's own install script when ONNXRUNTIME_NODE_INSTALL=cuda12. pnpm 10 does not run
# dependencies' install scripts unless allowed, and this repo's .npmrc skips it for CPU machines,
# so the build stage runs that script explicitly and fails if the provider is missing afterwards.

ARG NODE_IMAGE=node:20-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PNPM_HOME=/pnpm \
    CI=1 \
    ONNXRUNTIME_NODE_INSTALL=skip
ENV PATH="${PNPM_HOME}:${PATH}"
WORKDIR /repo

COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
# pnpm at exactly the version of package.json's packageManager field (pnpm-lock.yaml's writer).
# hadolint ignore=DL3016
RUN npm install --global --no-fund --no-audit "$(node -p 'require("./package.json").packageManager')"
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm fetch --prod

COPY . .
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --offline --frozen-lockfile --prod --filter "@easel/inference..."

# The CUDA execution provider, then only the linux/x64 binaries (CPU + CUDA) are kept.
RUN ort="$(node -p 'require("path").dirname(require.resolve("onnxruntime-node/package.json", { paths: ["packages/pipeline"] }))')" \
    && ONNXRUNTIME_NODE_INSTALL=cuda12 node "$ort/script/install.js" \
    && find "$ort/bin/napi-v6" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} + \
    && find "$ort/bin/napi-v6/linux" -mindepth 1 -maxdepth 1 ! -name x64 -exec rm -rf {} + \
    && test -f "$ort/bin/napi-v6/linux/x64/onnxruntime_binding.node" \
    && test -f "$ort/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so" \
    && test -f "$ort/bin/napi-v6/linux/x64/libonnxruntime_providers_shared.so"

# ---------------------------------------------------------------------------------------------
FROM ${CUDA_IMAGE} AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Node 20 itself: the official binary from the Node image (glibc >= 2.28; Ubuntu 22.04 has 2.35).
COPY --from=build /usr/local/bin/node /usr/local/bin/node
ENV NODE_ENV=production \
    HOME=/tmp \
    EASEL_HOST=0.0.0.0 \
    EASEL_PORT=8081 \
    EASEL_PROVIDER=cuda \
    EASEL_STATE_DIR=/var/lib/easel/state \
    EASEL_STORE_DIR=/var/lib/easel/images \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
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

# uid/gid 1000: the Kubernetes and Cloud Run manifests run the container as 1000:1000.
RUN groupadd --gid 1000 easel \
    && useradd --uid 1000 --gid 1000 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin easel \
    && mkdir -p /var/lib/easel/state /var/lib/easel/images /models \
    && chown -R 1000:1000 /var/lib/easel /models \
    && node --version
VOLUME ["/var/lib/easel"]
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
WORKDIR /app/apps/inference
EXPOSE 8081

# 200 while READY or BUSY; 503 while STARTING (models loading and warming up on the GPU: a long
# start-period), FAILED or STOPPING.
HEALTHCHECK --interval=15s --timeout=5s --start-period=300s --retries=3 \
    CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.EASEL_PORT}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# SIGTERM drains: running batches finish (EASEL_GRACE_MS), queued work stays journaled.
STOPSIGNAL SIGTERM
CMD ["node", "--no-warnings", "--import", "tsx", "src/main.ts"]
