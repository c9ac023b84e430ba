# Shared by the exactly-once chaos tests (test_worker_chaos*.sh; sourced
# after lib.sh, not run), modelled on Kafka's own streams_eos_test: a driver
# produces a known stream, several workers process it while something
# disturbs them, and verifiers read the outputs read_committed.
#
#   chaos_setup                 topics (6 partitions), the model, the bad records
#   start_one I [ARGS...]       starts exactly-once worker I (static member
#                               chaos-I, transactional id <group>-I, its log
#                               wI.log), with more worker flags if given
#   start_stream RATE           $chaos_events events (default 200,000) of
#                               $chaos_users users (5,000) in the background
#   stream_running              the replay still runs
#   finish_stream               waits for it; all delivered
#   stop_one I                  SIGTERM; status 0
#   supervise                   restarts a worker that exited on its own (a
#                               fatal error), as an orchestrator would;
#                               counts them in $restarts
#   wait_committed GROUP SEC    the group's committed offsets reach the end
#   wait_committed_supervised GROUP SEC   the same, restarting exited workers
#   kill_broker_and_restart     SIGKILL the broker of $STREAMREC_BROKER_DIR,
#                               3 s, start it again on its data
#   chaos_verify NAME EXTRA_JSON  a reference worker, then the verifiers; prints
#                               one "chaos:" JSON line with the counts
#
# Checks (read_committed): verify_states — every user's final state counts
# each of its events once (count, FNV hash, offset, partition) and its hidden
# state equals that of one uninterrupted worker on the same topic within 1e-5;
# verify_recommendations — every list recomputes, no (user, source offset)
# twice, every user's last list covers its last event; the dead-letter topic
# holds each bad record once. The caller defines nothing; `fail` is here.

chaos_events=${chaos_events:-200000} chaos_users=${chaos_users:-5000}
work=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-chaos.XXXXXX")
pids=()
reference_pid='' replay_pid=''
chaos_cleanup() {
  local p
  for p in "${pids[@]}" $reference_pid $replay_pid; do kill -KILL "$p" 2>/dev/null || true; done
  [ -n "${STREAMREC_KEEP_WORK:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap chaos_cleanup EXIT
fail() {
  echo "FAIL: $*"
  local f
  # The workers' story (warnings and rebalances) is what explains a mismatch.
  for f in "$work"/*.log; do
    [ -f "$f" ] && { echo "== $f"; grep -v '"level":"debug"' "$f" | tail -n 40; }
  done
  exit 1
}
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2" | head -n 1; }

chaos_setup() {
  events=$(fresh_topic chaos-events)
  recommendations=$(fresh_topic chaos-recs)
  dlq=$(fresh_topic chaos-dlq)
  models=$(fresh_topic chaos-models)
  changelog=$(fresh_topic chaos-changelog)
  reference_recs=$(fresh_topic chaos-ref-recs)
  reference_changelog=$(fresh_topic chaos-ref-changelog)
  reference_dlq=$(fresh_topic chaos-ref-dlq)
  group=$(fresh_topic chaos-group)
  "$STREAMREC_SOURCE/deploy/kafka/create-topics.sh" --bootstrap "$STREAMREC_BOOTSTRAP" \
    --topics "$events:6,$recommendations:6,$dlq:1,$models:1:compact,$changelog:6:compact,$reference_recs:6,$reference_changelog:6:compact,$reference_dlq:1"
  "$STREAMREC_BUILD/bench/bench_make_model" --out "$work/model.srm" --items 300 2>/dev/null ||
    fail "bench_make_model failed"
  common=(--topic-events "$events" --topic-models "$models" --model-file "$work/model.srm"
          --processing-guarantee exactly_once --commit-interval-ms 100 --score-after-events 1
          --score-min-interval-ms 0 --http-port -1)
  produce_bad_records "$events" || fail "produce_records failed"
}

start_one() {
  "$STREAMREC_BIN" worker "${common[@]}" --group-id "$group" --topic-recommendations "$recommendations" \
    --topic-dlq "$dlq" --topic-changelog "$changelog" --group-instance-id "chaos-$1" \
    --transactional-id "$group-$1" "${@:2}" 2>>"$work/w$1.log" &
  pids[$1]=$!
}

stop_one() {
  kill -TERM "${pids[$1]}"
  local status=0
  wait "${pids[$1]}" || status=$?
  [ "$status" -eq 0 ] || fail "worker $1 exited with $status after SIGTERM"
  unset "pids[$1]"
}

restarts=0
supervise() {
  local i status
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      status=0
      wait "${pids[$i]}" || status=$?
      echo "worker $i exited with $status: restarting it"
      start_one "$i"
      restarts=$((restarts + 1))
    fi
  done
}

start_stream() {
  "$STREAMREC_BIN" replay --format synthetic --users "$chaos_users" --items 300 --events "$chaos_events" --seed 31 \
    --rate "$1" --topic "$events" --no-progress --summary-json >"$work/replay.json" 2>"$work/replay.log" &
  replay_pid=$!
}

stream_running() { kill -0 "$replay_pid" 2>/dev/null; }

finish_stream() {
  wait "$replay_pid" || fail "the replay failed"
  replay_pid=''
  [ "$(json_field delivered "$(cat "$work/replay.json")")" -eq "$chaos_events" ] ||
    fail "the replay: $(cat "$work/replay.json")"
}

# committed_at_end GROUP: the group's committed offsets equal the end offsets
# on every partition of the event topic.
committed_at_end() {
  "$STREAMREC_SOURCE/deploy/kafka/kafka-tool.sh" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
    --bootstrap-server "$STREAMREC_BOOTSTRAP" --describe --group "$1" 2>/dev/null |
    awk -v t="$events" '$2 == t { n++; if ($4 != $5) bad = 1 } END { exit !(n == 6 && !bad) }'
}

wait_committed() {
  local deadline=$(( $(date +%s) + $2 ))
  until committed_at_end "$1"; do
    [ "$(date +%s)" -le "$deadline" ] || fail "group $1: offsets not at the end after $2 s"
    sleep 2
  done
}

wait_committed_supervised() {
  local deadline=$(( $(date +%s) + $2 ))
  until committed_at_end "$1"; do
    supervise
    [ "$(date +%s)" -le "$deadline" ] || fail "group $1: offsets not at the end after $2 s"
    sleep 2
  done
}

kill_broker_and_restart() {
  "$STREAMREC_SOURCE/deploy/kafka/stop.sh" --dir "$STREAMREC_BROKER_DIR" --kill >/dev/null ||
    fail "cannot kill the broker"
  sleep 3
  "$STREAMREC_SOURCE/deploy/kafka/start.sh" --dir "$STREAMREC_BROKER_DIR" >/dev/null ||
    fail "cannot restart the broker"
}

chaos_verify() {  # chaos_verify NAME EXTRA_JSON
  local aborted restores fenced dead
  aborted=$(cat "$work"/w*.log | grep -c 'aborting the transaction' || true)
  restores=$(cat "$work"/w*.log | grep -c '"msg":"restored ' || true)
  fenced=$(cat "$work"/w*.log | grep -ci 'fenced' || true)
  "$STREAMREC_BIN" worker "${common[@]}" --group-id "$group-reference" --topic-recommendations "$reference_recs" \
    --topic-dlq "$reference_dlq" --topic-changelog "$reference_changelog" 2>"$work/reference.log" &
  reference_pid=$!
  wait_committed "$group-reference" $(( 180 + chaos_events / 10000 ))
  kill -TERM "$reference_pid"
  wait "$reference_pid" || fail "the reference worker did not stop cleanly"
  reference_pid=''
  check_states "" "$events" "$changelog" --reference "$reference_changelog"
  [ "$(json_field events "$states")" -eq "$chaos_events" ] || fail "verify_states saw $(json_field events "$states") events"
  check_lists "" "$events" "$recommendations" "$work/model.srm"
  dead=$(dead_letters "$dlq")
  [ "$dead" -eq 5 ] || fail "$dead records in the dead-letter topic, 5 expected"
  echo "chaos: {\"scenario\":\"$1\",\"events\":$chaos_events,$2\"aborted_transactions\":$aborted,\"restores\":$restores,\"fenced_zombies\":$fenced,\"duplicates\":0,\"lost\":0,\"max_hidden_difference\":$(json_field max_hidden_difference "$states")}"
}
