#!/usr/bin/env bash
# Sets up a fresh machine for Easel. Idempotent: re-running only installs what is missing.
#   infra/local/setup.sh          pnpm + Node dependencies (enough for the main job)
#   infra/local/setup.sh --test   also what the test suite starts for real: redis-server, chromium,
#                                 dwebp (Debian), and a Python venv (.venv) with torch, onnx and moto
set -euo pipefail
cd "$(dirname "$0")/../.."
export ONNXRUNTIME_NODE_INSTALL=skip WRANGLER_SEND_METRICS=false

if ! command -v pnpm >/dev/null 2>&1; then
  npm install -g pnpm@10 >/dev/null 2>&1 || { echo "setup: could not install pnpm (npm i -g pnpm@10)" >&2; exit 1; }
fi
pnpm install --frozen-lockfile --reporter=silent

[[ "${1:-}" == "--test" ]] || exit 0

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v dwebp >/dev/null 2>&1 || missing+=(webp)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ((${#missing[@]})); then
  if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
    echo "setup: installing ${missing[*]} (Debian)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing ${missing[*]}; the tests that need them will skip" >&2
  fi
fi

if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
# torch is pinned to 2.13.0 (the CPU wheel); never let a range pull another build.
if ! .venv/bin/python -c "import torch, onnx, moto" >/dev/null 2>&1; then
  echo "setup: installing the Python test environment into .venv"
  .venv/bin/pip install -q --disable-pip-version-check torch==2.13.0
  .venv/bin/pip install -q --disable-pip-version-check -r packages/shapes/train/requirements.txt "moto[server]==5.2.1"
fi
