#!/usr/bin/env bash
# The exactly-once benchmark (`tests/bench/run eos`): what transactions and the
# state changelog cost, side by side in one run on the real broker.
#
#   tests/bench/eos.sh [--users U] [--events N] [--interval-ms MS]
#   (defaults 1000000, 5000000, 100)
#
# Needs a broker in $STREAMREC_BOOTSTRAP (tests/bench/run starts one) and the
# Release build in build/.
#
#   1. pre-fill a 4-partition topic (streamrec replay --format synthetic, U
#      users, 12,000 items, N events) and make a model (bench_make_model);
#   2. at-least-once: a worker, scoring off, reads the topic to its end;
#   3. exactly-once: the same with --processing-guarantee exactly_once, commit
#      every MS, into a fresh compacted changelog; events/s of each from
#      /metrics (from the first scrape with events to the one with all N); the
#      ratio. Both pinned to core 0 with OPENBLAS_NUM_THREADS=1, as the worker
#      benchmark (one core for the client and its librdkafka threads);
#   4. restore: a second exactly-once worker in a fresh group reads only the
#      changelog (its event topic is an empty one with the same partitions):
#      its log line gives the states, MB and seconds; the figure per 1 M users
#      assumes a compacted changelog (one record per user: the rate is per
#      record, so it carries over);
#   5. the rebalance pause: the exactly-once group from step 3 is joined by a
#      second member while more events arrive live; the pause is the time from
#      the first member's revocation to the end of the restores that follow
#      (both workers' logs), i.e. how long its partitions process nothing.
# Prints one line per run on stderr and, last on stdout, one JSON object.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

users=1000000 events=5000000 interval=100
while [ $# -gt 0 ]; do
  case "$1" in
  --users) users=$2; shift 2 ;;
  --events) events=$2; shift 2 ;;
  --interval-ms) interval=$2; shift 2 ;;
  -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
  *) echo "eos.sh: unknown argument '$1'; see --help" >&2; exit 2 ;;
  esac
done
for n in "$users" "$events" "$interval"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "eos.sh: '$n' is not a positive number" >&2; exit 2; }
done
[ -n "${STREAMREC_BOOTSTRAP:-}" ] || { echo "eos.sh: STREAMREC_BOOTSTRAP is not set" >&2; exit 2; }
bootstrap=$STREAMREC_BOOTSTRAP
# shellcheck source=tests/bench/bench_lib.sh
. tests/bench/bench_lib.sh
bench_setup eos
other_cores=$(( $(nproc) > 1 ? 1 : 0 ))-$(( $(nproc) - 1 ))

id=$$
events_topic=bench-eos-events-$id empty_topic=bench-eos-empty-$id recs=bench-eos-recs-$id
dlq=bench-eos-dlq-$id models=bench-eos-models-$id changelog=bench-eos-changelog-$id
deploy/kafka/create-topics.sh --bootstrap "$bootstrap" \
  --topics "$events_topic:4,$empty_topic:4,$recs:4,$dlq:1,$models:1:compact" >/dev/null
# The changelog as a deployment would configure it: compacted, in segments
# small enough that compaction runs while the benchmark does.
(
  # shellcheck disable=SC1091
  . deploy/kafka/lib.sh
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --create \
    --replication-factor 1 --partitions 4 --topic "$changelog" --config cleanup.policy=compact \
    --config segment.bytes=67108864 --config min.cleanable.dirty.ratio=0.1 >/dev/null
)
log "pre-filling $events events of $users users"
taskset -c "$other_cores" build/streamrec replay --bootstrap "$bootstrap" --topic "$events_topic" \
  --format synthetic --users "$users" --items 12000 --events "$events" --time-step 1 \
  --start-time $(( $(date +%s%3N) - events )) --no-progress --log-level error >/dev/null
build/bench/bench_make_model --out "$work/model.srm" --items 12000 2>/dev/null

# worker NAME GROUP TOPIC ARGS...: a pinned worker; sets worker_pid and worker_port.
worker() {
  local name=$1 group=$2 topic=$3
  shift 3
  taskset -c 0 env OPENBLAS_NUM_THREADS=1 build/streamrec worker --bootstrap "$bootstrap" \
    --group-id "$group" --client-id "bench-eos-$name" --topic-events "$topic" \
    --topic-recommendations "$recs" --topic-dlq "$dlq" --topic-models "$models" \
    --model-file "$work/model.srm" --state-max-users "$((users + 65536))" --score-enabled false \
    --http-port 0 --http-bind 127.0.0.1 "$@" 2>"$work/$name.log" &
  worker_pid=$!
  started_pids+=("$worker_pid")
  wait_worker_port "$name"
}

# One unlabelled value; empty while the endpoint does not answer (a scrape
# may fail under load: with pipefail that must not end the script).
metric() { { curl -sf "http://127.0.0.1:$worker_port/metrics" || true; } | awk -v n="$1" '$1 == n { print $2; exit }'; }

# rate: events/s from the first scrape with events to the one with all of them.
rate() {
  local first='' t0 v t
  while :; do
    v=$(metric streamrec_events_total); t=$(date +%s.%N)
    v=${v%.*}
    if [ -n "$v" ] && [ "$v" -gt 0 ] && [ -z "$first" ]; then first=$v t0=$t; fi
    if [ -n "$v" ] && [ "$v" -ge "$events" ]; then break; fi
    kill -0 "$worker_pid" 2>/dev/null || { log "the worker exited"; exit 1; }
    sleep 0.05
  done
  python3 -c "print(round(($v - $first) / max($t - $t0, 1e-3)))"
}

stop() {
  kill -TERM "$worker_pid"
  wait "$worker_pid" || { log "a worker exited with an error"; exit 1; }
}

worker alo "bench-eos-alo-$id" "$events_topic" --processing-guarantee at_least_once
alo=$(rate); stop
log "at-least-once: $alo events/s"
worker eos "bench-eos-eos-$id" "$events_topic" --processing-guarantee exactly_once \
  --commit-interval-ms "$interval" --topic-changelog "$changelog" --group-instance-id eos-0 \
  --transactional-id "bench-eos-$id-0"
eos=$(rate)
eos_commits=$(metric streamrec_commits_total)
eos_pid=$worker_pid eos_port=$worker_port
log "exactly-once: $eos events/s ($eos_commits transactions)"

# ---- restore: a fresh group, the same changelog, no events ----
worker restore "bench-eos-restore-$id" "$empty_topic" --processing-guarantee exactly_once \
  --topic-changelog "$changelog" --transactional-id "bench-eos-$id-restore"
deadline=$((SECONDS + 600))
until grep -q '"msg":"restored ' "$work/restore.log"; do
  [ $SECONDS -lt $deadline ] || { log "no restore in 600 s"; exit 1; }
  sleep 0.5
done
restore_line=$(grep -o '"msg":"restored [^"]*' "$work/restore.log" | head -n 1)
stop
log "restore: ${restore_line#\"msg\":\"}"
restored=$(sed -n 's/.*restored \([0-9]*\) user states (\([0-9]*\) records.*, \([0-9.]*\) MB) of .* in \([0-9.]*\) s.*/\1 \3 \4/p' <<<"$restore_line")

# ---- the rebalance pause: a second member joins the exactly-once group ----
worker_pid=$eos_pid worker_port=$eos_port
taskset -c "$other_cores" build/streamrec replay --bootstrap "$bootstrap" --topic "$events_topic" \
  --format synthetic --users "$users" --items 12000 --events 200000 --skip "$events" --rate 20000 \
  --time-step 1 --no-progress --log-level error >/dev/null &
replay_pid=$!
started_pids+=("$replay_pid")
sleep 3
worker joiner "bench-eos-eos-$id" "$events_topic" --processing-guarantee exactly_once \
  --commit-interval-ms "$interval" --topic-changelog "$changelog" --group-instance-id eos-1 \
  --transactional-id "bench-eos-$id-1"
joiner_pid=$worker_pid
wait "$replay_pid" || true
sleep 5
pause=$(python3 - "$work/eos.log" "$work/joiner.log" <<'PY'
import json, sys, datetime
def events(path):
    for line in open(path):
        try:
            yield json.loads(line)
        except ValueError:
            pass
def ts(r):
    return datetime.datetime.strptime(r["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
first = list(events(sys.argv[1]))
revoked = [ts(r) for r in first if r.get("msg", "").startswith("revoking ")]
restored = [ts(r) for path in sys.argv[1:] for r in events(path) if r.get("msg", "").startswith("restored ")]
if not revoked:
    print("null"); sys.exit()
start = revoked[-1]
after = [t for t in restored if t >= start]
print(round((max(after) - start) * 1000) if after else "null")
PY
)
kill -TERM "$joiner_pid" "$eos_pid" 2>/dev/null || true
wait "$joiner_pid" "$eos_pid" 2>/dev/null || true
log "rebalance pause (revocation to the last restore): $pause ms"

python3 - "$users" "$events" "$interval" "$alo" "$eos" "$eos_commits" "$pause" $restored <<'PY'
import json, sys
users, events, interval, alo, eos, commits, pause = sys.argv[1:8]
states, mb, seconds = (sys.argv[8:11] + [None, None, None])[:3]
states = int(states) if states else None
seconds = float(seconds) if seconds else None
rate = states / seconds if states and seconds else None
print(json.dumps({
    "bench": "eos", "users": int(users), "events": int(events), "commit_interval_ms": int(interval),
    "at_least_once_events_per_s": int(alo), "exactly_once_events_per_s": int(eos),
    "exactly_once_vs_at_least_once": round(int(eos) / int(alo), 3),
    "transactions": float(commits),
    "restore_states": states, "restore_mb": float(mb) if mb else None, "restore_seconds": seconds,
    "restore_states_per_s": round(rate) if rate else None,
    "restore_seconds_per_million_users": round(1e6 / rate, 1) if rate else None,
    "rebalance_pause_ms": None if pause == "null" else int(pause),
}))
PY
