#!/usr/bin/env bash
# Exactly-once: an aborted transaction is recovered in place, on a real broker.
#
# The dead-letter topic refuses records over 3,000 bytes (max.message.bytes),
# and the event topic holds, between 20,000 and 10,000 good events, one bad
# record of 3,800 random bytes: its dead letter fails to deliver, which
# aborts the worker's transaction. The worker must not stop: it rewinds every
# partition to its committed offset, restores its users from the changelog
# and processes again; the pill aborts each attempt (with a backoff) until the
# test lifts the topic's limit (kafka.admin.ConfigCommand), and then
# everything commits. Checks, read_committed, once the worker stopped on
# SIGTERM (status 0):
#   - streamrec_transactions_aborted_total > 0 and the worker kept running;
#   - verify_states: every user's state counts each of its 30,000 events once
#     (count, hash, offset, partition);
#   - verify_recommendations: no list twice, every list recomputes;
#   - the dead-letter topic holds the bad record exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/worker_harness.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-worker-abort.XXXXXX")
cleanup() { kill_worker; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
kafka_tool() { "$STREAMREC_SOURCE/deploy/kafka/kafka-tool.sh" "$@"; }

events=$(fresh_topic abort-events)
recommendations=$(fresh_topic abort-recs)
dlq=$(fresh_topic abort-dlq)
models=$(fresh_topic abort-models)
changelog=$(fresh_topic abort-changelog)
group=$(fresh_topic abort-group)
"$STREAMREC_SOURCE/deploy/kafka/create-topics.sh" --bootstrap "$STREAMREC_BOOTSTRAP" \
  --topics "$events:4,$recommendations:4,$models:1:compact,$changelog:4:compact"
kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$STREAMREC_BOOTSTRAP" --create \
  --replication-factor 1 --partitions 1 --topic "$dlq" --config max.message.bytes=3000 >/dev/null ||
  fail "cannot create $dlq"

"$STREAMREC_BIN" replay --format synthetic --users 2000 --items 300 --events 20000 --seed 21 \
  --topic "$events" --no-progress --summary-json >/dev/null || fail "the first replay failed"
pill=$(python3 -c 'import os; print(os.urandom(3800).hex())')
echo "hex:$pill 77" | "$tools/produce_records" --topic "$events" >/dev/null 2>&1 ||
  fail "produce_records failed"
"$STREAMREC_BIN" replay --format synthetic --users 2000 --items 300 --events 10000 --seed 22 \
  --topic "$events" --no-progress --summary-json >/dev/null || fail "the second replay failed"
"$STREAMREC_BUILD/bench/bench_make_model" --out "$work/model.srm" --items 300 2>/dev/null ||
  fail "bench_make_model failed"

start_worker "$work/worker.log" --topic-events "$events" --topic-recommendations "$recommendations" \
  --topic-dlq "$dlq" --topic-models "$models" --topic-changelog "$changelog" --group-id "$group" \
  --model-file "$work/model.srm" --processing-guarantee exactly_once --commit-interval-ms 100 \
  --score-after-events 1 --score-min-interval-ms 0 --transactional-id "$group-tx"
deadline=$(( $(date +%s) + 60 ))
until [ "$(metric streamrec_transactions_aborted_total)" -ge 2 ] 2>/dev/null; do
  kill -0 "$worker_pid" 2>/dev/null || { tail -n 20 "$work/worker.log"; fail "the worker exited on an abort"; }
  [ "$(date +%s)" -le "$deadline" ] || { tail -n 20 "$work/worker.log"; fail "no aborted transaction in 60 s"; }
  sleep 0.3
done
echo "aborted so far: $(metric streamrec_transactions_aborted_total)"
kafka_tool kafka.admin.ConfigCommand --bootstrap-server "$STREAMREC_BOOTSTRAP" --alter \
  --entity-type topics --entity-name "$dlq" --add-config max.message.bytes=1000000 >/dev/null ||
  fail "cannot lift the dead-letter topic's limit"
wait_processed any 90
aborted=$(metric streamrec_transactions_aborted_total)
restored=$(metric streamrec_restored_user_states_total)
stop_worker
echo "aborted transactions: $aborted, user states restored: $restored"
grep -o '"msg":"recovered: [^"]*' "$work/worker.log" | head -n 1

check_states "" "$events" "$changelog"
[ "$(json_field events "$states")" -eq 30000 ] || fail "verify_states saw $(json_field events "$states") events"
check_lists "" "$events" "$recommendations" "$work/model.srm"
dead=$(dead_letters "$dlq")
[ "$dead" -eq 1 ] || fail "$dead records in the dead-letter topic, 1 expected"
echo "PASS"
