#!/usr/bin/env bash
# `streamrec worker` in its default mode, exactly_once (a transaction every
# 100 ms), on a real broker: the write and restore sides of exactly-once (the
# chaos tests follow).
#
# A synthetic stream (30,000 events, 1,500 users, 300 items) plus a few bad
# records goes into a fresh 4-partition event topic; a model is made for it
# (bench_make_model: random weights, the stream's item ids). One worker in
# exactly-once mode (commit every 100 ms) processes it all and stops on
# SIGTERM (status 0). Then, read_committed:
#   - verify_states: the changelog (a fresh compacted 4-partition topic) holds,
#     for every user, a last state whose applied_events and sequence_hash are
#     those of the user's events, on the user's event partition, at its last
#     event's offset; no state for anyone else;
#   - verify_recommendations: every list recomputes from the model and the
#     user's events up to its source offset, no (user, source offset) twice,
#     every user's last list covers its last event; the topic holds exactly
#     the lists the worker counted;
#   - the dead-letter topic holds the bad records, once each;
#   - the committed offsets are the end offsets;
#   - a worker killed (-9) while 20,000 more events arrive and restarted
#     (static membership, the same transactional id) restores its users from
#     the changelog and ends with the same checks passing over all 50,000
#     events: every state's count and hash exact, no list twice;
#   - a worker with the same transactional id started while the first runs
#     fences it: once the first has something to commit (more events), it
#     stops with a non-zero status and a log line that says so, never
#     silently.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/worker_harness.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-worker-eos.XXXXXX")
cleanup() { kill_worker; [ -n "${second_pid:-}" ] && kill -9 "$second_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

events=$(fresh_topic eos-events)
recommendations=$(fresh_topic eos-recs)
dlq=$(fresh_topic eos-dlq)
models=$(fresh_topic eos-models)
changelog=$(fresh_topic eos-changelog)
group=$(fresh_topic eos-group)
"$STREAMREC_SOURCE/deploy/kafka/create-topics.sh" --bootstrap "$STREAMREC_BOOTSTRAP" \
  --topics "$events:4,$recommendations:4,$dlq:1,$models:1:compact,$changelog:4:compact"

replayed=$("$STREAMREC_BIN" replay --format synthetic --users 1500 --items 300 --events 30000 --seed 11 \
  --topic "$events" --no-progress --summary-json)
[ "$(json_field delivered "$replayed")" -eq 30000 ] || fail "the replay delivered: $replayed"
produce_bad_records "$events" || fail "produce_records failed"
"$STREAMREC_BUILD/bench/bench_make_model" --out "$work/model.srm" --items 300 2>/dev/null ||
  fail "bench_make_model failed"

worker_args=(--topic-events "$events" --topic-recommendations "$recommendations" --topic-dlq "$dlq"
             --topic-models "$models" --topic-changelog "$changelog" --group-id "$group"
             --model-file "$work/model.srm"
             --score-after-events 1 --score-min-interval-ms 0
             --transactional-id "$group-tx")
start_worker "$work/worker.log" "${worker_args[@]}"
wait_processed 30005 90
running_commits=$(metric streamrec_commits_total)
[ "${running_commits%.*}" -gt 1 ] || fail "only $running_commits transactions committed"
stop_worker
final=$(grep '"msg":"stopped after ' "$work/worker.log")
echo "$final"
produced=$(sed -n 's/.* \([0-9]*\) recommendations,.*/\1/p' <<<"$final")
grep -q ": 30005 records, 30000 events, 5 dead letters, $produced recommendations" <<<"$final" ||
  fail "the summary line: $final"

check_states "" "$events" "$changelog"
[ "$(json_field users "$states")" -eq 1500 ] || fail "states of $(json_field users "$states") users"

check_lists "" "$events" "$recommendations" "$work/model.srm"
[ "$(json_field recommendations "$report")" -eq "$produced" ] ||
  fail "the topic holds $(json_field recommendations "$report") lists, the worker produced $produced"

dead=$(dead_letters "$dlq")
[ "$dead" -eq 5 ] || fail "$dead records in the dead-letter topic, 5 expected"

"$STREAMREC_SOURCE/deploy/kafka/kafka-tool.sh" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
  --bootstrap-server "$STREAMREC_BOOTSTRAP" --describe --group "$group" >"$work/group.txt" 2>&1 ||
  { cat "$work/group.txt"; fail "ConsumerGroupCommand failed"; }
awk -v t="$events" '$2 == t && $4 != $5 { bad = 1 } END { exit bad }' "$work/group.txt" ||
  { cat "$work/group.txt"; fail "committed offsets are not the end offsets"; }

# ---- kill -9 mid-stream and restart: nothing lost, nothing twice ----
# Static membership and the same transactional id: the restarted instance
# takes the partitions back at once and aborts its dead self's transaction;
# it restores its users from the changelog and resumes from the offsets of
# the last committed transaction.
crash_args=("${worker_args[@]}" --group-instance-id worker-0)
start_worker "$work/crash.log" "${crash_args[@]}"
"$STREAMREC_BIN" replay --format synthetic --users 1500 --items 300 --events 20000 --seed 13 \
  --rate 8000 --topic "$events" --no-progress --summary-json >"$work/replay2.json" &
replay_pid=$!
sleep 1.5
kill -KILL "$worker_pid"
wait "$worker_pid" 2>/dev/null || true
echo "killed the worker after $(grep -c '' "$work/crash.log") log lines"
wait "$replay_pid" || fail "the second replay failed"
start_worker "$work/restarted.log" "${crash_args[@]}"
wait_processed any 90
restored=$(metric streamrec_restored_user_states_total)
[ "${restored%.*}" -gt 0 ] || fail "the restarted worker restored no state"
grep -o '"msg":"restored [^"]*' "$work/restarted.log" | head -n 1
stop_worker
check_states "after kill -9 and restart: " "$events" "$changelog"
[ "$(json_field events "$states")" -eq 50000 ] || fail "verify_states saw $(json_field events "$states") events"
check_lists "after kill -9 and restart: " "$events" "$recommendations" "$work/model.srm"

# ---- fencing: a second instance with the same transactional id ----
start_worker "$work/first.log" "${worker_args[@]}"
first_pid=$worker_pid
"$STREAMREC_BIN" worker "${worker_args[@]}" --http-port -1 2>"$work/second.log" &
second_pid=$!
sleep 2
# More events: the first worker's next commit meets the newer epoch.
"$STREAMREC_BIN" replay --format synthetic --users 1500 --items 300 --events 3000 --seed 12 \
  --topic "$events" --no-progress --summary-json >/dev/null
deadline=$(( $(date +%s) + 60 ))
while kill -0 "$first_pid" 2>/dev/null; do
  [ "$(date +%s)" -le "$deadline" ] || fail "the fenced worker still runs after 60 s"
  sleep 0.2
done
status=0
wait "$first_pid" || status=$?
worker_pid=''
[ "$status" -ne 0 ] || fail "the fenced worker exited 0"
grep -qi 'fenc' "$work/first.log" || { tail -n 5 "$work/first.log"; fail "no log line says the worker was fenced"; }
echo "fenced worker: status $status: $(grep -i 'fenc' "$work/first.log" | tail -n 1 | cut -c1-200)"
kill -TERM "$second_pid"
wait "$second_pid" || fail "the second worker did not stop cleanly"
second_pid=''
echo "PASS"
