#!/usr/bin/env bash
# The README's test command: sets up a fresh machine, then lint, typecheck, the deploy-template
# checks and the whole test suite, then the unit tests again on Node 22.
set -euo pipefail
cd "$(dirname "$0")/../.."
export ONNXRUNTIME_NODE_INSTALL=skip WRANGLER_SEND_METRICS=false
bash infra/local/setup.sh --test
pnpm lint
pnpm typecheck
# The deploy templates: wrangler dry-runs, manifest schemas, terraform validate, Dockerfile lint
# (their vitest part, test/infra, runs with the suite below).
EASEL_VALIDATE_SKIP_VITEST=1 bash infra/validate.sh
# The training recipe's own Python unit tests (tokenizer, held-out data rules).
.venv/bin/python -m unittest discover -s packages/shapes/train/tests
mkdir -p .easel
pnpm test --reporter=default --reporter=json --outputFile.json=.easel/vitest-results.json
# The unit tests again on Node 22 (the suite above ran on the machine's Node).
bash infra/local/node22.sh
# A plain closing line for CI readers: the main suite's counts.
node -e 'const r = require("./.easel/vitest-results.json"); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)'
