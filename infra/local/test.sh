#!/usr/bin/env bash
# The README's test command: sets up a fresh machine, then lint, typecheck and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
export ONNXRUNTIME_NODE_INSTALL=skip WRANGLER_SEND_METRICS=false
bash infra/local/setup.sh --test
pnpm lint
pnpm typecheck
# The deploy templates: wrangler dry-runs, manifest schemas, terraform validate, Dockerfile lint.
EASEL_VALIDATE_SKIP_VITEST=1 bash infra/validate.sh  # its vitest part runs in pnpm test
# The training recipe's own Python unit tests (tokenizer, held-out data rules).
.venv/bin/python -m unittest discover -s packages/shapes/train/tests
pnpm test
# The training recipe's own Python unit tests (tokenizer, held-out data rules).
.venv/bin/python -m unittest discover -s packages/shapes/train/tests
# The unit tests again on Node 22 (the suite above ran on the machine's Node).
bash infra/local/node22.sh
