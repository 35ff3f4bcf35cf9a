#!/usr/bin/env bash
# The README's main-job command: sets up, starts the local stack (inference on the CPU with the
# embedded Shapes model, a local image directory, the Node gateway), turns the prompt into an image
# through SDK -> gateway -> inference -> storage, and stops the stack.
#   infra/local/run.sh "a red circle above a blue square" -o easel.png [--seed N] [--worker]
#   infra/local/run.sh up [--worker]      # start and leave running
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
caller="$(pwd)"
bash "$here/infra/local/setup.sh"
cd "$caller"
exec node --import "$here/apps/stack/node_modules/tsx/dist/esm/index.mjs" "$here/apps/stack/src/main.ts" "$@"
