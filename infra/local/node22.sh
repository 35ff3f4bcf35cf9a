#!/usr/bin/env bash
# Proves Node 22 compatibility: fetches Node 22 from the npm registry (the `node` package) into
# .easel/node22 once, then runs the unit tests with it.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=.easel/node22
if [[ ! -x $dir/node_modules/node/bin/node ]]; then
  mkdir -p "$dir"
  (cd "$dir" && npm init -y >/dev/null && npm install --no-audit --no-fund node@22 >/dev/null)
fi
node22="$dir/node_modules/node/bin/node"
echo "unit tests on $("$node22" --version)"
"$node22" node_modules/vitest/vitest.mjs run --project unit
