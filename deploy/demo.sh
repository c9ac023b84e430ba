#!/usr/bin/env bash
# The README's first command: streamrec on its embedded broker, end to end as far
# as it is built today — start the broker, replay a stream into the event topic,
# read it back, train the model on the topic and publish it to the model topic.
# Arguments are passed to `streamrec replay` (default: a synthetic
# stream of 200,000 events). Installs what it needs; safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
bin=build/streamrec

work=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-demo.XXXXXX")
cleanup() {
  [ -n "${broker_pid:-}" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "== starting the embedded broker"
"$bin" broker --partitions 4 --bootstrap-file "$work/bootstrap" >/dev/null 2>"$work/broker.log" &
broker_pid=$!
for _ in $(seq 100); do [ -s "$work/bootstrap" ] && break; sleep 0.1; done
[ -s "$work/bootstrap" ] || { cat "$work/broker.log" >&2; exit 1; }
export STREAMREC_BOOTSTRAP=$(cat "$work/bootstrap")
echo "   listening on $STREAMREC_BOOTSTRAP"

replay_args=("$@")
[ ${#replay_args[@]} -gt 0 ] || replay_args=(--format synthetic --users 20000 --items 5000 --events 200000 --seed 1 --no-progress)
echo "== replaying into user-events: ${replay_args[*]}"
"$bin" replay "${replay_args[@]}"

echo "== the first events of the stream, read back from the broker"
"$bin" tail --topic user-events --from-beginning --exit-at-end --max 8
echo "== records per partition"
"$bin" tail --topic user-events --from-beginning --exit-at-end |
  awk -F'[:,]' '{n[$2]++} END {for (p in n) printf "   partition %s: %d events\n", p, n[p]}' | sort

echo "== training on the topic, publishing the model to model-updates"
"$bin" trainer --topic user-events --out "$work/model.srm" --publish --epochs 5 --no-progress \
  --log-level warn
