#!/usr/bin/env bash
# Exactly-once under chaos, on a real broker — modelled on Kafka's own
# streams_eos_test: a driver produces a known stream, several workers process
# it while being disturbed, and verifiers read the outputs read_committed.
#
#   - 200,000 events of 5,000 users (plus 5 bad records) arrive over ~15 s
#     into a 6-partition topic;
#   - 3 exactly-once workers (static members chaos-0..2, each its own stable
#     transactional id) process them; every 2.5 s one of them, at random, is
#     killed with SIGKILL and restarted at once;
#   - once the stream is in and the group's committed offsets reach the end,
#     the workers stop (SIGTERM, status 0);
#   - one uninterrupted worker processes the same topic into a reference
#     changelog.
# Checks (read_committed): verify_states — every user's final state counts
# each of its events once (count, FNV hash, offset, partition) and its hidden
# state equals the reference's within 1e-5; verify_recommendations — every
# list recomputes, no (user, source offset) twice, every user's last list
# covers its last event; the dead-letter topic holds each bad record once.
# Prints the counts: events, kills, aborted transactions, restores.
. "$(dirname "$0")/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-chaos.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}" ${reference_pid:-} ${replay_pid:-}; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$work"/w*.log; do echo "== $f"; tail -n 5 "$f"; done; exit 1; }
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2" | head -n 1; }

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

start_one() {  # start_one I: worker I of the chaos group
  "$STREAMREC_BIN" worker "${common[@]}" --group-id "$group" --topic-recommendations "$recommendations" \
    --topic-dlq "$dlq" --topic-changelog "$changelog" --group-instance-id "chaos-$1" \
    --transactional-id "$group-$1" \
    2>>"$work/w$1.log" &
  pids[$1]=$!
}

# committed_at_end GROUP: the group's committed offsets equal the end offsets
# on every partition of the event topic.
committed_at_end() {
  "$STREAMREC_SOURCE/deploy/kafka/kafka-tool.sh" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
    --bootstrap-server "$STREAMREC_BOOTSTRAP" --describe --group "$1" 2>/dev/null |
    awk -v t="$events" '$2 == t { n++; if ($4 != $5) bad = 1 } END { exit !(n == 6 && !bad) }'
}

wait_committed() {  # wait_committed GROUP SECONDS
  local deadline=$(( $(date +%s) + $2 ))
  until committed_at_end "$1"; do
    [ "$(date +%s)" -le "$deadline" ] || fail "group $1: offsets not at the end after $2 s"
    sleep 2
  done
}

for i in 0 1 2; do start_one "$i"; done
"$STREAMREC_BIN" replay --format synthetic --users 5000 --items 300 --events 200000 --seed 31 --rate 13000 \
  --topic "$events" --no-progress --summary-json >"$work/replay.json" &
replay_pid=$!
"$tools/produce_records" --topic "$events" >/dev/null 2>&1 <<'SPEC' || fail "produce_records failed"
truncated:5:10 5
bad-magic:6:11 6
hex:ffff 7
good:8:12 9
good:10:13 abc
SPEC

kills=0
while kill -0 "$replay_pid" 2>/dev/null; do
  sleep 2.5
  i=$(( RANDOM % 3 ))
  kill -KILL "${pids[$i]}" 2>/dev/null || true
  wait "${pids[$i]}" 2>/dev/null || true
  start_one "$i"
  kills=$((kills + 1))
done
wait "$replay_pid" || fail "the replay failed"
replay_pid=''
[ "$(json_field delivered "$(cat "$work/replay.json")")" -eq 200000 ] || fail "the replay: $(cat "$work/replay.json")"
echo "stream in; $kills workers killed and restarted"
wait_committed "$group" 180
for i in 0 1 2; do
  kill -TERM "${pids[$i]}"
  status=0
  wait "${pids[$i]}" || status=$?
  [ "$status" -eq 0 ] || fail "worker $i exited with $status after SIGTERM"
done
pids=()
aborted=$(cat "$work"/w*.log | grep -c 'aborting the transaction' || true)
restores=$(cat "$work"/w*.log | grep -c '"msg":"restored ' || true)
fenced=$(cat "$work"/w*.log | grep -ci 'fenced' || true)

# ---- the reference: one worker, never disturbed ----
"$STREAMREC_BIN" worker "${common[@]}" --group-id "$group-reference" --topic-recommendations "$reference_recs" \
  --topic-dlq "$reference_dlq" --topic-changelog "$reference_changelog" 2>"$work/reference.log" &
reference_pid=$!
wait_committed "$group-reference" 180
kill -TERM "$reference_pid"
wait "$reference_pid" || fail "the reference worker did not stop cleanly"
reference_pid=''

states=$("$tools/verify_states" --events "$events" --changelog "$changelog" --reference "$reference_changelog") ||
  { echo "$states"; fail "verify_states found mismatches"; }
echo "states: $states"
[ "$(json_field events "$states")" -eq 200000 ] || fail "verify_states saw $(json_field events "$states") events"
report=$("$tools/verify_recommendations" --events "$events" --recommendations "$recommendations" \
  --model "$work/model.srm" --exclude-recent --topn 20 --expect-latest --allow-popularity) ||
  { echo "$report"; fail "verify_recommendations found mismatches"; }
echo "recommendations: $(cut -c1-200 <<<"$report")"
dead=$("$tools/read_dead_letters" --topic "$dlq" 2>/dev/null | grep -c 'streamrec.error"' || true)
[ "$dead" -eq 5 ] || fail "$dead records in the dead-letter topic, 5 expected"
echo "chaos: {\"events\":200000,\"kills\":$kills,\"aborted_transactions\":$aborted,\"restores\":$restores,\"fenced_zombies\":$fenced,\"duplicates\":0,\"lost\":0,\"max_hidden_difference\":$(json_field max_hidden_difference "$states")}"
echo "PASS"
