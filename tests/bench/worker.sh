#!/usr/bin/env bash
# The worker benchmark (`tests/bench/run worker`): every comparison side by side
# in one run, on the real broker, on one pre-filled topic.
#
#   tests/bench/worker.sh [--users U] [--events N] [--items V] [--score-after K]
#                         [--latency-seconds S] [--latency-rate R] [--repeat R]
#                         [--no-python]
#   (defaults 1000000, 5000000, 12000, 10, 30, half the measured rate, 3;
#   --latency-rate fixes the live rate, so that two builds compare at one load)
#
# Needs a broker in $STREAMREC_BOOTSTRAP (tests/bench/run starts one) and the
# Release build in build/ (tests/bench/run builds it). Creates the Python venv
# build/bench-venv (confluent-kafka, fastavro, numpy from PyPI) if missing.
#
# The runs, one after the other; each reads the same topic from the beginning
# in a fresh consumer group. Every measured process is pinned to core 0
# (taskset -c 0) with OPENBLAS_NUM_THREADS=1: "one core" for the client, its
# librdkafka threads (fetch, lz4 decompression) included. The producers and the
# metric poller run on the other core(s); the broker where the kernel puts it.
#   1. pre-fill: streamrec replay --format synthetic --users U --items V
#      --events N --time-step 1 into a fresh 4-partition topic (1 ms of event
#      time per event, so that no user idles past the worker's 7-day expiry);
#      the model: build/bench/bench_make_model (GRU, E = H = 64, T = 16, item
#      attention, tied embeddings, the ids 1..V), also as .npz for the peer;
#   2. consume-only: build/bench/bench_consume_only, librdkafka reading the
#      topic to its end and touching each payload: the Kafka limit for one
#      core, R times (also once unpinned, for information);
#   3. an idle worker (no event: an empty topic) for the memory baseline, then
#      the worker with scoring off (--score-enabled false), R times. This
#      machine's rates move by 10-20 % from run to run (2 cores, shared), so
#      the cheap runs are repeated and their medians make the headline and
#      its ratios; every run is in the JSON;
#   4. the Python peer (tests/bench/worker_peer.py), scoring off, then every K;
#   5. the worker scoring every K events per user (--score-after-events K
#      --score-min-interval-ms 0; a user's first event is scored too: the
#      worker's cold-start policy). Then, with the same worker still running
#      (all the stream's users held), the latency phase: the stream goes on
#      live (streamrec replay --skip N: the same generator, the events after
#      the first N) at half the worker's events/s over the second half of the
#      pre-filled topic, for S seconds (at most N events). Why so: the cost of
#      an event is far from constant at the head of a stream (almost every
#      event is a user's first, and so scored), so a fresh worker on a fresh
#      topic at half the average rate is overloaded for its first seconds and
#      measures a backlog, not the latency; the live phase continues the
#      regime its rate was measured in;
#   6. the lists of the worker and of the peer for the same user and event are
#      compared (the same items in the same order: the same work), and
#      build/bench/bench_latency computes, for every recommendation of the live
#      phase, its broker append time minus the broker append time of the
#      newest event it reflects (found by the record's source_partition and
#      source_offset): both topics are created with
#      message.timestamp.type=LogAppendTime. So the figure runs from the event
#      being in Kafka to the recommendation being in Kafka: fetch, decode,
#      step, scoring, produce (linger.ms 1) and append, all of the worker's
#      path. Not from the producer's send (CreateTime): that adds the
#      producer's own delays, e.g. its start (the idempotent producer id),
#      seen here to hold the first second of a live phase back by up to 1.2 s.
#      The headline figures ("latency_p50_ms" ...) leave out the events of
#      the live phase's first third, at most 5 s: its start comes as a burst
#      (the producer's first requests) that the worker takes a second or so
#      to absorb; the whole phase's figures are reported too.
#
# Worker figures come from its /metrics, scraped every 50 ms (250 ms in the
# live phase, where only the end is needed): events/s is
# streamrec_events_total from the first scrape that shows events to the first
# that shows all N (the events after the first sample over the time between);
# also over the second half of the topic alone. The worker is then stopped with
# SIGTERM (it finishes, flushes, commits) and must exit 0. The worker's own
# latency histogram (streamrec_event_to_publish_latency_seconds: from receiving
# a user's OLDEST unscored event, so it includes the wait for K events) is
# reported for the live phase alone (buckets at its end minus at its start).
# Memory per user, four ways, each over streamrec_users at the end of the
# scoring-off run:
#   state_bytes_per_user    the store's own accounting, streamrec_state_bytes;
#   resident_growth         process_resident_memory_bytes at the end minus at
#                           the last scrape before any event was processed.
#                           Low if librdkafka had pre-fetched records by then
#                           (up to queued.min.messages = 1000000 per partition,
#                           the worker's default), as that queue is empty at
#                           the end;
#   caught_up_resident_vs_idle
#                           the headline: resident 7 s after the last event
#                           (the worker has returned the drained queue's heap
#                           by then) minus that of the idle worker;
#   resident_vs_idle        resident at the end minus that of the idle worker
#                           (same settings and model, no user). High when the
#                           worker had not yet returned the heap the drained
#                           librdkafka queue left (consume-only's peak resident
#                           memory, also reported, shows how large that queue
#                           gets).
#
# The workers' state cap is the stream's users + 65536: a step makes room for
# every event of a user it does not hold yet (an upper bound on the new users,
# worker/serve/serving.c), so a cap of exactly the users would evict held users
# near the cap and the memory figure would be at fewer users than the stream has.
#
# Why 4 partitions: as the replay benchmark, and a layout a small production
# topic would have (more than one, so the group assignment and per-partition
# offsets run as they do in production). With one broker, one fetch request
# carries every partition, so the count changes consumer throughput little.
#
# Prints one line per run on stderr and, last on stdout, one JSON object with
# every figure and the ratios.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

users=1000000
events=5000000
items=12000
score_after=10
latency_seconds=30
latency_rate=0
python_runs=1
repeat=3
while [ $# -gt 0 ]; do
  case "$1" in
  --users) users=$2; shift 2 ;;
  --events) events=$2; shift 2 ;;
  --items) items=$2; shift 2 ;;
  --score-after) score_after=$2; shift 2 ;;
  --latency-seconds) latency_seconds=$2; shift 2 ;;
  --latency-rate) latency_rate=$2; shift 2 ;;
  --repeat) repeat=$2; shift 2 ;;
  --no-python) python_runs=0; shift ;;
  -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
  *) echo "worker.sh: unknown argument '$1'; see --help" >&2; exit 2 ;;
  esac
done
for n in "$users" "$events" "$items" "$score_after" "$latency_seconds" "$repeat"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "worker.sh: '$n' is not a positive number" >&2; exit 2; }
done
[[ $latency_rate =~ ^[0-9]+$ ]] ||
  { echo "worker.sh: --latency-rate '$latency_rate' is not a number (0: half the measured rate)" >&2; exit 2; }
[ -n "${STREAMREC_BOOTSTRAP:-}" ] ||
  { echo "worker.sh: STREAMREC_BOOTSTRAP is not set (tests/bench/run starts a broker)" >&2; exit 2; }
bootstrap=$STREAMREC_BOOTSTRAP
for p in build/streamrec build/bench/bench_make_model build/bench/bench_consume_only build/bench/bench_latency; do
  [ -x "$p" ] || { echo "worker.sh: $p is missing (tests/bench/run builds it)" >&2; exit 2; }
done
for tool in taskset curl python3; do
  command -v "$tool" >/dev/null || { echo "worker.sh: $tool is missing" >&2; exit 2; }
done
core=0
other_cores=$(( $(nproc) > 1 ? 1 : 0 ))-$(( $(nproc) - 1 ))

# shellcheck source=tests/bench/bench_lib.sh
. tests/bench/bench_lib.sh
bench_setup worker

# ---- the Python peer's environment ----

venv=build/bench-venv
python_reason=null
if [ "$python_runs" = 1 ] && ! "$venv/bin/python" -c 'import confluent_kafka, fastavro, numpy' 2>/dev/null; then
  log "creating $venv (confluent-kafka, fastavro, numpy)"
  if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q "confluent-kafka==2.16.1" \
           "fastavro==1.13.1" "numpy==2.4.6"; } >"$work/pip.log" 2>&1; then
    cat "$work/pip.log" >&2
    log "the Python peer's packages could not be installed: its runs are left out"
    python_runs=0
    python_reason='"pip install confluent-kafka fastavro numpy failed"'
  fi
fi
[ "$python_runs" = 1 ] || [ "$python_reason" != null ] || python_reason='"--no-python"'

# ---- topics ----

id=$$
events_topic=bench-worker-events-$id
empty_topic=bench-worker-empty-$id
recs_topic=bench-worker-recs-$id
peer_recs_topic=bench-worker-peer-recs-$id
models_topic=bench-worker-models-$id
dlq_topic=bench-worker-dlq-$id
deploy/kafka/create-topics.sh --bootstrap "$bootstrap" \
  --topics "$empty_topic:4,$peer_recs_topic:4,$models_topic:1,$dlq_topic:1"
# The event topic and the worker's output topic stamp records with the
# broker's append time (the worker reads event_time from the record itself).
(
  # shellcheck disable=SC1091
  . deploy/kafka/lib.sh
  for topic in "$events_topic" "$recs_topic"; do
    kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --create \
      --if-not-exists --replication-factor 1 --partitions 4 --topic "$topic" \
      --config message.timestamp.type=LogAppendTime >/dev/null &
  done
  wait
)

# ---- the metric poller (stdlib Python, on the other cores) ----

cat >"$work/poll.py" <<'EOF'
"""Scrapes a worker's /metrics every INTERVAL_S until streamrec_events_total
reaches TARGET; prints one JSON object of what the benchmark needs.
  poll.py PORT TARGET STUCK_TIMEOUT_S INTERVAL_S [FROM]
FROM (default 0): the events the worker had before this phase. The second
half's rate is over the events from FROM + (TARGET - FROM) / 2 on."""
import json, sys, time, urllib.request

port, target, timeout, interval = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
start = int(sys.argv[5]) if len(sys.argv) > 5 else 0
half = start + (target - start) / 2
url = f"http://127.0.0.1:{port}/metrics"

def scrape():
    values, buckets = {}, []
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        name, _, value = line.rpartition(" ")
        if name.startswith("streamrec_event_to_publish_latency_seconds_bucket"):
            buckets.append([name.split('le="')[1].split('"')[0], float(value)])
        elif "{" not in name:
            values[name] = float(value)
    return values, buckets

before = first = middle = last = None
last_progress, last_events = time.monotonic(), -1
while True:
    now = time.monotonic()
    values, buckets = scrape()
    events = values.get("streamrec_events_total", 0)
    if events <= start:
        before = (values, buckets)
    elif first is None:
        first = (now, events)
    if middle is None and events >= half:
        middle = (now, events)
    if events != last_events:
        last_progress, last_events = now, events
    if events >= target:
        last = (now, values, buckets)
        break
    if now - last_progress > timeout:
        sys.exit(f"poll: streamrec_events_total stuck at {events:.0f} of {target} for {timeout:.0f} s")
    time.sleep(interval)

t_end, end, buckets = last
total = end["streamrec_events_total"]
rate = lambda p: round((total - p[1]) / (t_end - p[0]), 1) if p and t_end > p[0] else None
users = end.get("streamrec_users", 0)
rss_before = before[0].get("process_resident_memory_bytes") if before else None
rss_end = end.get("process_resident_memory_bytes")
print(json.dumps({
    "events": total, "seconds": round(t_end - first[0], 4) if first else None,
    "events_per_s": rate(first), "second_half_events_per_s": rate(middle),
    "users": users, "state_bytes": end.get("streamrec_state_bytes"),
    "state_bytes_per_user": round(end["streamrec_state_bytes"] / users, 1) if users else None,
    "resident_before": rss_before, "resident_end": rss_end,
    "resident_growth_per_user": round((rss_end - rss_before) / users, 1) if users and rss_before else None,
    "scorings": end.get("streamrec_scorings_total"),
    "popularity_scorings": end.get("streamrec_popularity_scorings_total"),
    "recommendations": end.get("streamrec_recommendations_total"),
    "dead_letters": end.get("streamrec_dlq_records_total"),
    "unknown_items": end.get("streamrec_unknown_items_total"),
    "evictions": end.get("streamrec_evictions_total"),
    "expirations": end.get("streamrec_expirations_total"),
    "latency_buckets_before": before[1] if before else [], "latency_buckets": buckets,
}))
EOF

# ---- helpers ----

# start_worker NAME TOPIC ARGS...: starts a pinned worker in a fresh group;
# sets worker_pid and worker_port.
start_worker() {
  local name=$1 topic=$2
  shift 2
  # Not through a shell function: backgrounded, it would run in a subshell,
  # and $! must be the worker itself (taskset and env exec it).
  taskset -c "$core" env OPENBLAS_NUM_THREADS=1 build/streamrec worker --bootstrap "$bootstrap" \
    --group-id "bench-worker-$name-$id" --client-id "bench-worker-$name" --topic-events "$topic" \
    --topic-recommendations "$recs_topic" --topic-dlq "$dlq_topic" --topic-models "$models_topic" \
    --model-file "$work/model.srm" --state-max-users "$((users + 65536))" \
    --http-port 0 --http-bind 127.0.0.1 --processing-guarantee at_least_once "$@" 2>"$work/$name.log" &
  worker_pid=$!
  started_pids+=("$worker_pid")
  wait_worker_port "$name"
}

# wait_ready NAME: until the worker's /readyz says yes (model, partitions).
wait_ready() {
  local deadline=$((SECONDS + 60))
  until curl -sf "http://127.0.0.1:$worker_port/readyz" >/dev/null; do
    [ $SECONDS -lt $deadline ] || { tail -n 20 "$work/$1.log" >&2; log "worker $1: not ready in 60 s"; exit 1; }
    sleep 0.1
  done
}

# poll NAME OUT TARGET: the poller (every 50 ms), until the worker has TARGET events.
poll() {
  taskset -c "$other_cores" python3 "$work/poll.py" "$worker_port" "$3" 120 0.05 >"$work/$2.json" ||
    { tail -n 20 "$work/$1.log" >&2; log "worker $1: poll failed"; exit 1; }
}

# stop_worker NAME: SIGTERM, wait; the exit status must be 0.
stop_worker() {
  kill -TERM "$worker_pid"
  local rc=0
  wait "$worker_pid" || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 20 "$work/$1.log" >&2
    log "worker $1 exited with $rc"
    exit 1
  fi
}

field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print("null" if v is None else v)' "$@"; }
now_ms() { date +%s%3N; }

# ---- 1. pre-fill and model ----

# Event times: 1 ms apart, the pre-fill's last one about now; the live phase
# continues from there.
start_time=$(( $(now_ms) - events ))
log "pre-filling $events_topic: $events events, $users users, $items items"
taskset -c "$other_cores" build/streamrec replay --bootstrap "$bootstrap" --topic "$events_topic" \
  --format synthetic --users "$users" --items "$items" --events "$events" --start-time "$start_time" \
  --time-step 1 --no-progress --summary-json --log-level error | tail -n 1 >"$work/replay.json"
log "pre-filled at $(field "$work/replay.json" events_per_second) events/s"
build/bench/bench_make_model --out "$work/model.srm" --npz "$work/model.npz" --items "$items" 2>/dev/null

# ---- 2. consume-only ----

for r in $(seq 1 "$repeat"); do
  taskset -c "$core" build/bench/bench_consume_only --bootstrap "$bootstrap" --topic "$events_topic" \
    --events "$events" --group "bench-consume-$r-$id" 2>/dev/null | tail -n 1 >"$work/consume$r.json"
done
build/bench/bench_consume_only --bootstrap "$bootstrap" --topic "$events_topic" \
  --events "$events" --group "bench-consume-unpinned-$id" 2>/dev/null | tail -n 1 >"$work/consume_unpinned.json"
log "consume-only: $(for r in $(seq 1 "$repeat"); do field "$work/consume$r.json" events_per_s; done | paste -sd' ') events/s on one core" \
    "($(field "$work/consume_unpinned.json" events_per_s) unpinned)"

# ---- 3. the worker, scoring off ----

start_worker idle "$empty_topic" --score-enabled false
wait_ready idle
sleep 1
idle_resident=$(curl -sf "http://127.0.0.1:$worker_port/metrics" | sed -n 's/^process_resident_memory_bytes //p')
stop_worker idle

start_worker off "$events_topic" --score-enabled false
poll off off "$events"
# Caught up: the worker returns the drained fetch queue's heap within 5 s
# (worker/stream/worker.c, release_drained_heap); resident memory after that.
sleep 7
caught_up_resident=$(curl -sf "http://127.0.0.1:$worker_port/metrics" | sed -n 's/^process_resident_memory_bytes //p')
stop_worker off
log "worker, scoring off: $(field "$work/off.json" events_per_s) events/s," \
    "$(field "$work/off.json" users) users; bytes per user: $(field "$work/off.json" state_bytes_per_user)" \
    "in the store, $(field "$work/off.json" resident_growth_per_user) resident growth"
# The repeats: the rate only (the memory figures are the first run's).
for r in $(seq 2 "$repeat"); do
  start_worker "off$r" "$events_topic" --score-enabled false
  poll "off$r" "off$r" "$events"
  stop_worker "off$r"
  log "worker, scoring off, run $r: $(field "$work/off$r.json" events_per_s) events/s"
done

# ---- 4. the Python peer ----

for mode in off score; do
  if [ "$python_runs" = 1 ]; then
    k=0
    [ "$mode" = off ] || k=$score_after
    taskset -c "$core" env OPENBLAS_NUM_THREADS=1 "$venv/bin/python" tests/bench/worker_peer.py \
      --bootstrap "$bootstrap" --topic "$events_topic" --group "bench-peer-$mode-$id" \
      --events "$events" --model-npz "$work/model.npz" --score-after "$k" \
      --recommendations-topic "$peer_recs_topic" --users-hint "$users" | tail -n 1 >"$work/peer_$mode.json"
    log "python peer, scoring $mode: $(field "$work/peer_$mode.json" events_per_s) events/s"
  else
    echo '{}' >"$work/peer_$mode.json"
  fi
done

# ---- 5. the worker scoring every K, then the live phase ----

start_worker score "$events_topic" --score-after-events "$score_after" --score-min-interval-ms 0
poll score score "$events"
log "worker, scoring every $score_after: $(field "$work/score.json" events_per_s) events/s" \
    "($(field "$work/score.json" second_half_events_per_s) over the second half)," \
    "$(field "$work/score.json" recommendations) recommendations"

max_rate=$(field "$work/score.json" second_half_events_per_s)
[ "$max_rate" != null ] || max_rate=$(field "$work/score.json" events_per_s)
rate=$(python3 -c "print(max(1, int(float('$max_rate') / 2)))")
[ "$latency_rate" = 0 ] || rate=$latency_rate
live_events=$(python3 -c "print(max(1, min($events, $rate * $latency_seconds)))")
log "latency: the stream goes on live, $live_events events at $rate events/s"
live_since=$(now_ms)
taskset -c "$other_cores" python3 "$work/poll.py" "$worker_port" "$((events + live_events))" 120 0.25 "$events" \
  >"$work/live.json" &
poll_pid=$!
taskset -c "$other_cores" build/streamrec replay --bootstrap "$bootstrap" --topic "$events_topic" \
  --format synthetic --users "$users" --items "$items" --events "$((events + live_events))" \
  --skip "$events" --start-time "$start_time" --time-step 1 --rate "$rate" \
  --no-progress --summary-json --log-level error | tail -n 1 >"$work/live_replay.json"
wait "$poll_pid" || { tail -n 20 "$work/score.log" >&2; log "worker score: the live phase's poll failed"; exit 1; }
stop_worker score

# ---- 6. the same work? the latency ----

if [ "$python_runs" = 1 ]; then
  "$venv/bin/python" tests/bench/worker_peer.py --compare "$recs_topic" "$peer_recs_topic" \
    --bootstrap "$bootstrap" | tail -n 1 >"$work/compare.json"
else
  echo '{}' >"$work/compare.json"
fi
# The steady figures leave out the live phase's start: a third of it, at most 5 s.
warmup_ms=$(python3 -c "print(min(5000, int($live_events * 1000 / $rate / 3)))")
build/bench/bench_latency --bootstrap "$bootstrap" --events-topic "$events_topic" \
  --recommendations-topic "$recs_topic" --since-ms "$live_since" --warmup-ms "$warmup_ms" \
  2>/dev/null | tail -n 1 >"$work/latency.json"
log "latency after the first $warmup_ms ms: p50 $(field "$work/latency.json" steady_publish_p50_ms) ms," \
    "p99 $(field "$work/latency.json" steady_publish_p99_ms) ms, max $(field "$work/latency.json" steady_publish_max_ms) ms;" \
    "whole live phase: p50 $(field "$work/latency.json" publish_p50_ms) ms, p99 $(field "$work/latency.json" publish_p99_ms) ms" \
    "(event appended -> recommendation appended)"

# ---- the summary ----

python3 - "$work" "$users" "$events" "$items" "$score_after" "$rate" "$python_reason" "$idle_resident" \
  "$caught_up_resident" "$repeat" <<'EOF'
import json, statistics, sys
work, users, events, items, k, rate, python_reason, idle_resident, caught_up_resident, repeat = sys.argv[1:11]
idle_resident, caught_up_resident = float(idle_resident), float(caught_up_resident)
load = lambda name: json.load(open(f"{work}/{name}.json"))
consume_runs = [load(f"consume{r}") for r in range(1, int(repeat) + 1)]
off_runs = [load("off")] + [load(f"off{r}") for r in range(2, int(repeat) + 1)]
consume_free, off, score = load("consume_unpinned"), off_runs[0], load("score")
median = lambda runs, key: statistics.median(r[key] for r in runs)
consume_rate, off_rate = median(consume_runs, "events_per_s"), median(off_runs, "events_per_s")
peer_off, peer_score, live, lat = load("peer_off"), load("peer_score"), load("live"), load("latency")
replay, live_replay, same = load("replay"), load("live_replay"), load("compare")
ratio = lambda a, b: round(a / b, 3) if a and b else None
r1 = lambda v: None if v is None else round(v, 1)

def quantile(before, after, q):
    """Prometheus' histogram_quantile over the buckets' growth (ms)."""
    b = dict(before)
    rows = sorted((float(le), n - b.get(le, 0.0)) for le, n in after)
    total = rows[-1][1] if rows else 0
    if total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for le, n in rows:
        if n >= rank:
            if le == float("inf"):
                return round(1000 * lower, 2)
            return round(1000 * (lower + (le - lower) * (rank - below) / max(n - below, 1e-9)), 2)
        lower, below = le, n
    return round(1000 * lower, 2)

hist_p50 = quantile(live["latency_buckets_before"], live["latency_buckets"], 0.5)
hist_p99 = quantile(live["latency_buckets_before"], live["latency_buckets"], 0.99)
for run in off_runs + [score, live]:
    run.pop("latency_buckets_before"), run.pop("latency_buckets")
print(json.dumps({
    "bench": "worker", "users": int(users), "events": int(events), "items": int(items),
    "embed_dim": 64, "hidden_dim": 64, "window": 16, "score_after_events": int(k),
    "partitions": 4, "prefill_events_per_s": replay.get("events_per_second"),
    "repeat": int(repeat),
    "consume_only_events_per_s": consume_rate,
    "consume_only_runs_events_per_s": [r["events_per_s"] for r in consume_runs],
    "consume_only_unpinned_events_per_s": consume_free["events_per_s"],
    "worker_off_events_per_s": off_rate,
    "worker_off_runs_events_per_s": [r["events_per_s"] for r in off_runs],
    "worker_off_second_half_events_per_s": median(off_runs, "second_half_events_per_s"),
    "worker_score_events_per_s": score["events_per_s"],
    "worker_score_second_half_events_per_s": score["second_half_events_per_s"],
    "python_off_events_per_s": peer_off.get("events_per_s"),
    "python_score_events_per_s": peer_score.get("events_per_s"),
    "python_left_out": None if python_reason == "null" else json.loads(python_reason),
    "worker_off_vs_consume_only": ratio(off_rate, consume_rate),
    "worker_score_vs_consume_only": ratio(score["events_per_s"], consume_rate),
    "worker_vs_python_off": ratio(off_rate, peer_off.get("events_per_s")),
    "worker_vs_python_score": ratio(score["events_per_s"], peer_score.get("events_per_s")),
    "worker_users": off["users"],
    "state_bytes_per_user": off["state_bytes_per_user"],
    "resident_growth_bytes_per_user": off["resident_growth_per_user"],
    "resident_vs_idle_bytes_per_user": r1((off["resident_end"] - idle_resident) / off["users"]) if off["users"] else None,
    "caught_up_resident_vs_idle_bytes_per_user": r1((caught_up_resident - idle_resident) / off["users"]) if off["users"] else None,
    "idle_worker_resident_bytes": idle_resident,
    "consume_only_max_resident_bytes": consume_runs[0].get("max_resident_bytes"),
    "python_resident_growth_bytes_per_user": peer_off.get("resident_bytes_per_user"),
    "worker_score_recommendations": score["recommendations"],
    "python_score_recommendations": peer_score.get("recommendations"),
    "python_lists_compared": same.get("compared"), "python_lists_identical": same.get("identical"),
    "latency_rate_events_per_s": int(rate), "latency_events": live_replay.get("events"),
    "latency_replay_events_per_s": live_replay.get("events_per_second"),
    "latency_warmup_ms": lat["warmup_ms"], "latency_recommendations": lat["steady_publish_count"],
    "latency_p50_ms": lat["steady_publish_p50_ms"], "latency_p99_ms": lat["steady_publish_p99_ms"],
    "latency_p999_ms": lat["steady_publish_p999_ms"], "latency_max_ms": lat["steady_publish_max_ms"],
    "latency_to_scoring_p50_ms": lat["steady_scoring_p50_ms"],
    "latency_to_scoring_p99_ms": lat["steady_scoring_p99_ms"],
    "latency_whole_phase_p50_ms": lat["publish_p50_ms"], "latency_whole_phase_p99_ms": lat["publish_p99_ms"],
    "latency_whole_phase_max_ms": lat["publish_max_ms"],
    "worker_histogram_p50_ms": hist_p50, "worker_histogram_p99_ms": hist_p99,
    "repeated_lists": lat["repeated"], "recommendations_in_topic": lat["recommendations"],
    "runs": {"consume_only": consume_runs, "consume_only_unpinned": consume_free, "worker_off": off_runs,
             "worker_score": score, "python_off": peer_off, "python_score": peer_score,
             "live_phase": live, "latency": lat, "compare": same},
}))
EOF
