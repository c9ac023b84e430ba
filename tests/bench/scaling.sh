#!/usr/bin/env bash
# The scaling benchmark (`tests/bench/run scaling`): how the workers' total
# throughput grows with their number, in their default mode (exactly-once,
# a transaction every 100 ms), on one machine and the real broker.
#
#   tests/bench/scaling.sh [--users U] [--events N] [--workers "1 2 4"]
#   (defaults 200000, 2000000, "1 2 4")
#
# Needs a broker in $STREAMREC_BOOTSTRAP (tests/bench/run starts one) and the
# Release build in build/.
#
# A 4-partition topic (as many partitions as the largest worker count: a
# worker beyond that idles) is pre-filled with N events of U users and 12,000
# items. For each worker count K, K workers join a fresh group (static
# members, their own fresh changelog) and read the topic to its end, scoring
# every 10 events of a user; their events/s together, from the first scrape
# with events to the one where their sum reaches N. Nothing is pinned: the
# workers, their librdkafka threads and the broker share the machine's cores,
# as they would share a node. Prints one line per count on stderr and, last
# on stdout, one JSON object with the rates and each one's ratio to 1 worker.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

users=200000 events=2000000 counts="1 2 4"
while [ $# -gt 0 ]; do
  case "$1" in
  --users) users=$2; shift 2 ;;
  --events) events=$2; shift 2 ;;
  --workers) counts=$2; shift 2 ;;
  -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
  *) echo "scaling.sh: unknown argument '$1'; see --help" >&2; exit 2 ;;
  esac
done
[ -n "${STREAMREC_BOOTSTRAP:-}" ] || { echo "scaling.sh: STREAMREC_BOOTSTRAP is not set" >&2; exit 2; }
bootstrap=$STREAMREC_BOOTSTRAP
# shellcheck source=tests/bench/bench_lib.sh
. tests/bench/bench_lib.sh
bench_setup scaling

id=$$
events_topic=bench-scaling-events-$id recs=bench-scaling-recs-$id dlq=bench-scaling-dlq-$id
models=bench-scaling-models-$id
changelogs=()
for k in $counts; do changelogs+=("bench-scaling-changelog-$id-$k:4:compact"); done
deploy/kafka/create-topics.sh --bootstrap "$bootstrap" \
  --topics "$events_topic:4,$recs:4,$dlq:1,$models:1:compact,$(IFS=,; echo "${changelogs[*]}")" >/dev/null
log "pre-filling $events events of $users users"
build/streamrec replay --bootstrap "$bootstrap" --topic "$events_topic" --format synthetic \
  --users "$users" --items 12000 --events "$events" --time-step 1 \
  --start-time $(( $(date +%s%3N) - events )) --no-progress --log-level error >/dev/null
build/bench/bench_make_model --out "$work/model.srm" --items 12000 2>/dev/null

# The sum of one counter over the running workers' endpoints (a scrape that
# fails under load counts 0 for that worker this time).
sum_metric() {
  local port total=0 v
  for port in "${ports[@]}"; do
    v=$({ curl -sf "http://127.0.0.1:$port/metrics" || true; } | awk -v n="$1" '$1 == n { print $2; exit }')
    v=${v%.*}
    total=$(( total + ${v:-0} ))
  done
  echo "$total"
}

results=()
for k in $counts; do
  ports=() pids=()
  for i in $(seq 0 $((k - 1))); do
    env OPENBLAS_NUM_THREADS=1 build/streamrec worker --bootstrap "$bootstrap" \
      --group-id "bench-scaling-$id-$k" --group-instance-id "w-$i" --client-id "bench-scaling-$k-$i" \
      --topic-events "$events_topic" --topic-recommendations "$recs" --topic-dlq "$dlq" \
      --topic-models "$models" --topic-changelog "bench-scaling-changelog-$id-$k" \
      --model-file "$work/model.srm" --state-max-users "$((users + 65536))" \
      --score-after-events 10 --http-port 0 --http-bind 127.0.0.1 2>"$work/w$k-$i.log" &
    worker_pid=$!
    started_pids+=("$worker_pid") pids+=("$worker_pid")
    wait_worker_port "w$k-$i"
    ports+=("$worker_port")
  done
  first='' t0=''
  while :; do
    v=$(sum_metric streamrec_events_total) t=$(date +%s.%N)
    if [ "$v" -gt 0 ] && [ -z "$first" ]; then first=$v t0=$t; fi
    [ "$v" -ge "$events" ] && break
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { log "a worker exited"; exit 1; }; done
    sleep 0.1
  done
  rate=$(python3 -c "print(round(($v - $first) / max($t - $t0, 1e-3)))")
  for pid in "${pids[@]}"; do kill -TERM "$pid"; done
  for pid in "${pids[@]}"; do wait "$pid" || { log "a worker exited with an error"; exit 1; }; done
  log "$k workers: $rate events/s"
  results+=("$k:$rate")
done

python3 - "${results[@]}" <<'PY'
import json, sys
rates = {int(k): int(r) for k, r in (a.split(":") for a in sys.argv[1:])}
base = rates[min(rates)]
print(json.dumps({"bench": "scaling", "guarantee": "exactly_once", "partitions": 4,
                  "events_per_s": {str(k): r for k, r in sorted(rates.items())},
                  "ratio_to_one": {str(k): round(r / base, 2) for k, r in sorted(rates.items())}}))
PY
