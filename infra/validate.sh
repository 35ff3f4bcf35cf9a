#!/usr/bin/env bash
# Validates the deploy templates offline; CI runs it. Exits non-zero if any check fails.
#
#   bash infra/validate.sh            # checks whose tool is missing are skipped, and said so
#   bash infra/validate.sh --strict   # a skipped check is a failure too
#
# Checks:
#   1. wrangler deploy --dry-run for the top level and each environment (dev, staging, production)
#   2. kustomize builds (kubectl kustomize, or kustomize build) of infra/k8s and its optional
#      parts, validated against the Kubernetes JSON schemas (kubernetes-validate --strict, the
#      oldest and newest versions in K8S_VERSIONS); CRDs (KEDA's ScaledObject) have no schema
#      there, so test/infra checks them structurally
#   3. terraform fmt -check, then init + validate of the module and the example against a local
#      provider mirror (EASEL_TF_PLUGIN_DIR, default /opt/tf-plugins); never downloads providers
#   4. hadolint on infra/docker/**/{Dockerfile*,*.Dockerfile}: warnings and errors fail;
#      infra/docker/.hadolint.yaml holds rule exceptions when present
#   5. vitest on test/infra (structural and cross-file checks, the offline terraform plan)
# Tools: kubernetes-validate and hadolint come from infra/requirements.txt (PyPI, into infra/.venv);
# kubectl and terraform are used when installed.
set -uo pipefail

STRICT=0
[[ "${1:-}" == "--strict" ]] && STRICT=1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
K8S_VERSIONS=(1.30.0 1.37.0)
TF_PLUGIN_DIR="${EASEL_TF_PLUGIN_DIR:-/opt/tf-plugins}"
VENV="$ROOT/infra/.venv"

failures=()
skips=()
step() { printf '\n== %s\n' "$*"; }
pass() { printf 'ok    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; failures+=("$*"); }
skip() { printf 'SKIP  %s\n' "$*"; skips+=("$*"); }
# run NAME CMD...: runs a check, keeps its output in $WORK/log and shows it only on failure.
run() {
  local name="$1"
  shift
  if "$@" >"$WORK/log" 2>&1; then pass "$name"; else
    sed 's/^/      /' "$WORK/log"
    fail "$name"
  fi
}

python_tools() {
  [[ -x "$VENV/bin/kubernetes-validate" && -x "$VENV/bin/hadolint" ]] && return 0
  command -v python3 >/dev/null || return 1
  echo "installing infra/requirements.txt into infra/.venv"
  { [[ -d "$VENV" ]] || python3 -m venv "$VENV"; } &&
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/infra/requirements.txt"
}

step "Python tools (infra/requirements.txt)"
if python_tools; then pass "infra/.venv"; else skip "infra/.venv could not be set up (python3 or PyPI missing)"; fi

step "1. wrangler deploy --dry-run"
WRANGLER="$ROOT/apps/gateway/node_modules/wrangler/bin/wrangler.js"
if [[ -f "$WRANGLER" ]]; then
  for env in "" dev staging production; do
    run "wrangler deploy --dry-run --env '${env}'" \
      env WRANGLER_SEND_METRICS=false CI=1 bash -c \
      'cd "$1/apps/gateway" && node "$2" deploy --dry-run --env "$3" --outdir "$4/wrangler-${3:-top}"' \
      _ "$ROOT" "$WRANGLER" "$env" "$WORK"
  done
else
  skip "wrangler (run pnpm install)"
fi

step "2. Kubernetes manifests"
# The optional parts on top of the default: a kustomization outside the tree that pulls them in.
mkdir -p "$WORK/k8s-all"
rel="$(python3 -c 'import os,sys;print(os.path.relpath(sys.argv[1],sys.argv[2]))' "$ROOT/infra/k8s" "$WORK/k8s-all")"
cat >"$WORK/k8s-all/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $rel
  - $rel/gateway-node
  - $rel/tunnel
components:
  - $rel/components/sd-model-volume
YAML
kbuild() { if command -v kubectl >/dev/null; then kubectl kustomize "$1"; else kustomize build "$1"; fi; }
if command -v kubectl >/dev/null || command -v kustomize >/dev/null; then
  for target in "$ROOT/infra/k8s" "$ROOT/infra/k8s/gateway-node" "$ROOT/infra/k8s/tunnel" "$WORK/k8s-all"; do
    name="${target#"$ROOT/"}"
    [[ "$target" == "$WORK/k8s-all" ]] && name="infra/k8s + gateway-node + tunnel + sd-model-volume"
    out="$WORK/built-$(echo "$name" | tr -c 'a-z0-9' '-').yaml"
    if ! kbuild "$target" >"$out" 2>"$WORK/log"; then
      sed 's/^/      /' "$WORK/log"
      fail "kustomize build $name"
      continue
    fi
    pass "kustomize build $name"
    if [[ -x "$VENV/bin/kubernetes-validate" ]]; then
      for version in "${K8S_VERSIONS[@]}"; do
        run "schema ($version, strict) $name" \
          "$VENV/bin/kubernetes-validate" --strict --quiet --no-warn -k "$version" "$out"
      done
    else
      skip "kubernetes-validate $name"
    fi
  done
else
  skip "kubectl or kustomize not installed: manifests not built nor schema-checked"
fi

step "3. Terraform"
if command -v terraform >/dev/null; then
  export TF_IN_AUTOMATION=1 TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1
  run "terraform fmt -check infra/terraform" terraform fmt -check -recursive -diff "$ROOT/infra/terraform"
  if [[ -d "$TF_PLUGIN_DIR" ]]; then
    cp -r "$ROOT/infra/terraform" "$WORK/terraform"
    for dir in modules/image-bucket examples/aws; do
      run "terraform init + validate infra/terraform/$dir" bash -c \
        'cd "$1" && terraform init -backend=false -input=false -plugin-dir="$2" && terraform validate' \
        _ "$WORK/terraform/$dir" "$TF_PLUGIN_DIR"
    done
  else
    skip "terraform validate: no provider mirror at $TF_PLUGIN_DIR (set EASEL_TF_PLUGIN_DIR; make one with 'terraform providers mirror')"
  fi
else
  skip "terraform not installed: fmt and validate not run"
fi

step "4. Dockerfiles"
mapfile -t dockerfiles < <(find "$ROOT/infra/docker" -type f \( -name 'Dockerfile*' -o -name '*.Dockerfile' \) 2>/dev/null | sort)
if [[ ${#dockerfiles[@]} -eq 0 ]]; then
  skip "hadolint: no Dockerfile under infra/docker"
elif [[ -x "$VENV/bin/hadolint" ]]; then
  # Rule exceptions belong to the Dockerfiles' owners: infra/docker/.hadolint.yaml when present.
  hadolint_args=(--failure-threshold warning)
  [[ -f "$ROOT/infra/docker/.hadolint.yaml" ]] && hadolint_args+=(--config "$ROOT/infra/docker/.hadolint.yaml")
  for file in "${dockerfiles[@]}"; do
    run "hadolint ${file#"$ROOT/"}" "$VENV/bin/hadolint" "${hadolint_args[@]}" "$file"
  done
else
  skip "hadolint not installed"
fi

step "5. vitest test/infra"
if [[ "${EASEL_VALIDATE_SKIP_VITEST:-0}" == 1 ]]; then
  pass "vitest test/infra left to the caller's test run (EASEL_VALIDATE_SKIP_VITEST=1)"
elif [[ -x "$ROOT/node_modules/.bin/vitest" ]]; then
  run "vitest run test/infra" bash -c 'cd "$1" && node_modules/.bin/vitest run test/infra' _ "$ROOT"
else
  skip "vitest (run pnpm install)"
fi

printf '\n%d failed, %d skipped\n' "${#failures[@]}" "${#skips[@]}"
for f in "${failures[@]}"; do printf '  failed:  %s\n' "$f"; done
for s in "${skips[@]}"; do printf '  skipped: %s\n' "$s"; done
((${#failures[@]} > 0)) && exit 1
((STRICT == 1 && ${#skips[@]} > 0)) && exit 1
exit 0
