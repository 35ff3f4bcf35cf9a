#!/usr/bin/env bash
# Sets up a fresh machine (pnpm, dependencies) and runs lint, typecheck and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip WRANGLER_SEND_METRICS=false
command -v pnpm >/dev/null 2>&1 || npm i -g pnpm@10 >/dev/null 2>&1 || alias pnpm="npx -y pnpm@10"
pnpm install --frozen-lockfile
pnpm lint
pnpm typecheck
pnpm test
