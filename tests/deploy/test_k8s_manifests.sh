#!/usr/bin/env bash
# Renders every kustomization under deploy/k8s (the base and each overlay)
# and checks it offline:
#   - schemas: each object against Kubernetes', KEDA's and prometheus-operator's
#     (kubernetes-models); a kind none of them knows fails;
#   - unknown fields (a misspelt `readinesProbe` passes the schemas): each
#     object walked along the TypeScript types of those packages;
#   - the validator, the field check and the rule checker each reject
#     deliberately broken input, so none can pass by checking nothing;
#   - streamrec's rules (k8s-validate/invariants.mjs): static membership,
#     grace period above shutdown.timeout.ms, co-partitioned changelog,
#     autoscaling within the partition count, references that resolve;
#   - the worker's configuration as rendered: `streamrec worker --print-config`
#     accepts every key and value and confirms what the rules assumed;
#   - the topics Job's script against a stand-in kafka-topics.sh.
# Tools, fetched once into $STREAMREC_BUILD/tools and reused: kustomize
# (built by `go install` through the Go module proxy) and the npm packages
# pinned in k8s-validate/package-lock.json (`npm ci`). Needs go, node, npm.
set -euo pipefail

KUSTOMIZE_VERSION=v5.8.1

source_dir=${STREAMREC_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
build_dir=${STREAMREC_BUILD:-$source_dir/build}
bin=${STREAMREC_BIN:-$build_dir/streamrec}
k8s=$source_dir/deploy/k8s
validate_src=$source_dir/tests/deploy/k8s-validate
tools=$build_dir/tools
work=$build_dir/k8s-manifests

passed=0 failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
die() { echo "test_k8s_manifests: $*" >&2; exit 1; }

for tool in go node npm; do
  command -v "$tool" >/dev/null || die "needs $tool on PATH (go 1.24 or later, node 20, npm)"
done
mkdir -p "$tools"
# go and npm cache under $HOME; without one, under the build dir.
if [ -z "${HOME:-}" ]; then
  export GOPATH=$tools/go GOCACHE=$tools/go-build npm_config_cache=$tools/npm-cache
fi
rm -rf "$work"
mkdir -p "$work"

# ---- tools ----------------------------------------------------------------

# kustomize from source at a pinned version; a temporary GOBIN and a rename
# keep a half-built binary from ever being taken for a good one.
kustomize=$tools/kustomize-$KUSTOMIZE_VERSION/kustomize
if [ ! -x "$kustomize" ]; then
  echo "building kustomize $KUSTOMIZE_VERSION (once) ..."
  gobin=$(mktemp -d "$tools/kustomize.XXXXXX")
  GOBIN=$gobin go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" ||
    die "go install kustomize $KUSTOMIZE_VERSION failed"
  mkdir -p "$(dirname "$kustomize")"
  mv -f "$gobin/kustomize" "$kustomize"
  rm -rf "$gobin"
fi

# The validator's packages, exactly as locked; reinstalled when the lock changes.
node_dir=$tools/k8s-validate
lock_sum=$(sha256sum "$validate_src/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$node_dir/.lock-sha256" 2>/dev/null)" != "$lock_sum" ] || [ ! -d "$node_dir/node_modules" ]; then
  echo "installing the validator's npm packages (once) ..."
  mkdir -p "$node_dir"
  rm -f "$node_dir/.lock-sha256"
  cp "$validate_src/package.json" "$validate_src/package-lock.json" "$node_dir/"
  # The packages declare node >= 22 yet run on node 20; that they still
  # reject what they should is proven below on every run.
  (cd "$node_dir" && npm ci --no-audit --no-fund --engine-strict=false --loglevel=error) ||
    die "npm ci failed in $node_dir"
  echo "$lock_sum" >"$node_dir/.lock-sha256"
fi
# The scripts run from beside their node_modules (ES modules resolve from
# their own location); copied on every run, so they follow the source.
cp "$validate_src"/*.mjs "$node_dir/"
js() { node "$node_dir/$1" "${@:2}"; }

# ---- render ---------------------------------------------------------------

rendered=()
for kustomization in "$k8s"/base/kustomization.yaml "$k8s"/overlays/*/kustomization.yaml; do
  dir=$(dirname "$kustomization")
  name=$(basename "$dir")
  if "$kustomize" build "$dir" >"$work/$name.yaml" 2>"$work/$name.err"; then
    ok "render $name"
    rendered+=("$name")
  else
    bad "render $name: $(cat "$work/$name.err")"
  fi
done
[ ${#rendered[@]} -ge 4 ] || bad "expected base and 3 overlays, rendered ${#rendered[@]}"

# ---- schemas ----------------------------------------------------------------

for name in "${rendered[@]}"; do
  if out=$(js validate.mjs "$work/$name.yaml"); then ok "schemas $name:${out#*:}"
  else bad "schemas $name"$'\n'"$out"; fi
done
if out=$(js validate.mjs --expect-reject "$validate_src/broken.yaml"); then
  ok "validator rejects each broken object ($(grep -c 'rejected as expected' <<<"$out") of them)"
else
  bad "validator accepted a broken object"$'\n'"$out"
fi

# ---- unknown fields -----------------------------------------------------------

files=()
for name in "${rendered[@]}"; do files+=("$work/$name.yaml"); done
if out=$(js strict.mjs "${files[@]}"); then ok "no unknown field in ${rendered[*]}"
else bad "unknown fields"$'\n'"$out"; fi
if out=$(js strict.mjs --expect-reject "$validate_src/unknown-fields.yaml"); then
  ok "field check finds each misspelt field ($(grep -c 'rejected as expected' <<<"$out") of them)"
else
  bad "field check missed a misspelt field"$'\n'"$out"
fi

# ---- streamrec's rules ------------------------------------------------------

for name in "${rendered[@]}"; do
  if out=$(js invariants.mjs "$work/$name.yaml" --extract "$work/$name.d"); then ok "rules $name"
  else bad "rules $name"$'\n'"$out"; fi
done
# Each copy breaks one rule; the checker must notice every one.
if [ -f "$work/keda.yaml" ]; then
  js mutations.mjs "$work/keda.yaml" "$work/mutations" >/dev/null
  missed=()
  for f in "$work"/mutations/*.yaml; do
    js invariants.mjs "$f" >/dev/null || continue
    missed+=("$(basename "$f" .yaml)")
  done
  mutated=("$work"/mutations/*.yaml)
  if [ ${#missed[@]} -eq 0 ]; then ok "rule checker rejects each broken copy (${#mutated[@]} of them)"
  else bad "rule checker accepted: ${missed[*]}"; fi
fi

# ---- the worker's configuration, read by the worker itself ----------------

if [ -x "$bin" ]; then
  for name in "${rendered[@]}"; do
    d=$work/$name.d
    [ -f "$d/worker.env" ] || continue
    mapfile -t worker_env <"$d/worker.env"
    # Only the pod's environment: none of ours (STREAMREC_BUILD, ...).
    if ! env -i PATH="$PATH" "${worker_env[@]}" "$bin" worker --config "$d/worker.properties" \
         --print-config >"$d/effective.properties" 2>"$d/print-config.err"; then
      bad "worker config $name: $(cat "$d/print-config.err")"
      continue
    fi
    wrong=$(grep -vxF -f "$d/effective.properties" "$d/expected.properties" || true)
    if [ -z "$wrong" ]; then ok "worker config $name: every key valid, $(wc -l <"$d/expected.properties") settings as assumed"
    else bad "worker config $name: the worker disagrees on: $wrong"; fi
  done
  # The trainer's, read by the trainer itself: every key and value valid.
  for name in "${rendered[@]}"; do
    d=$work/$name.d
    [ -f "$d/trainer.properties" ] || continue
    mapfile -t trainer_env <"$d/trainer.env"
    if env -i PATH="$PATH" "${trainer_env[@]}" "$bin" trainer --config "$d/trainer.properties" \
         --print-config >"$d/trainer-effective.properties" 2>"$d/trainer-print-config.err"; then
      ok "trainer config $name: every key valid"
    else
      bad "trainer config $name: $(cat "$d/trainer-print-config.err")"
    fi
  done
else
  echo "skip worker config: no streamrec binary at $bin"
fi

# ---- the topics Job's script -------------------------------------------------

# Runs DIR's create-topics.sh against a fake cluster in $1/cluster.
create_topics() {
  FAKE_KAFKA=$2 KAFKA_TOPICS_SH=$validate_src/fake-kafka-topics.sh KAFKA_BOOTSTRAP=fake:9092 \
    KAFKA_CLIENT_CONFIG=/dev/null TOPICS_FILE=$1/topics.txt sh "$1/create-topics.sh" >"$2.log" 2>&1
}
for name in "${rendered[@]}"; do
  d=$work/$name.d
  [ -f "$d/create-topics.sh" ] || continue
  events=$(awk '$1 == "user-events" { print $2 }' "$d/topics.txt")
  cluster=$d/cluster
  mkdir -p "$cluster"
  wanted=$(grep -cv '^[[:space:]]*\(#\|$\)' "$d/topics.txt")
  if create_topics "$d" "$cluster" && create_topics "$d" "$cluster" &&
     created=("$cluster"/*) && [ ${#created[@]} -eq "$wanted" ] &&
     grep -qx "$events cleanup.policy=compact" "$cluster/worker-state-changelog"; then
    ok "topics job $name: creates every topic, twice safely, changelog compacted with $events partitions"
  else
    bad "topics job $name on an empty cluster: $(cat "$cluster.log")"
  fi
  # An event topic that already exists with another count: refuse.
  rm -rf "$cluster" && mkdir -p "$cluster" && echo "$((events + 1)) " >"$cluster/user-events"
  if create_topics "$d" "$cluster"; then bad "topics job $name accepted a changelog not co-partitioned with user-events"
  else ok "topics job $name refuses a changelog not co-partitioned with user-events"; fi
  # A changelog that exists without compaction: refuse.
  rm -rf "$cluster" && mkdir -p "$cluster" && echo "$events " >"$cluster/worker-state-changelog"
  if create_topics "$d" "$cluster"; then bad "topics job $name accepted an uncompacted changelog"
  else ok "topics job $name refuses an uncompacted changelog"; fi
done

echo "rendered manifests: $work/*.yaml"
echo "k8s-manifests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
