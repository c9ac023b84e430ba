#!/usr/bin/env bash
# The trainer's production path on a real broker.
#
# One-shot: a synthetic stream (60,000 events, 2,000 users, 300 items) is
# replayed into a fresh 4-partition topic; `streamrec trainer --topic --publish`
# must read all of it (its summary's events and users equal what the replay
# delivered and what an independent reader finds on the topic), write a model
# file that a fresh subscriber of the model topic gets byte for byte as the
# published version, and beat the popularity baseline: the topic exported as
# 'user item' pairs, `streamrec eval` ranks each user's test item (never seen
# by the trainer, not even for model selection) with the model file and with
# popularity counts. The synthetic stream moves along item cycles 80 % of the
# time, so a sequence model is far ahead (NDCG@10 about 0.8 against 0.3); the
# margin asked for is wide enough not to flake. The export carries no event
# types (pairs are views), which can only handicap the model.
#
# Continuous: a trainer with --continuous --retrain-events 5000 publishes its
# first model; then 6,000 more events arrive, from a generator with 320 items
# (20 new ids, and other item cycles: a drift). A round must run and either
# publish a higher version, which a fresh subscriber then gets byte for byte
# equal to the rewritten model file, or log its rejection with both hold-out
# figures. SIGTERM must then end the trainer with status 0 within a few seconds.
# On a topic with no event yet it waits for one (a fresh deployment) rather
# than exit.
. "$(dirname "$0")/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-trainer-it.XXXXXX")
trainer_pid=''
cleanup() {
  if [ -n "$trainer_pid" ] && kill -0 "$trainer_pid" 2>/dev/null; then kill -KILL "$trainer_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2" | head -n 1; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# waits up to SEC seconds for a line matching PATTERN in FILE; prints it
wait_for_line() {  # wait_for_line FILE PATTERN SEC
  local deadline=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -le "$deadline" ]; do
    if grep -q -- "$2" "$1" 2>/dev/null; then grep -- "$2" "$1" | head -n 1; return 0; fi
    if [ -n "$trainer_pid" ] && ! kill -0 "$trainer_pid" 2>/dev/null; then
      echo "the trainer exited early:"; tail -n 20 "$work/trainer.log"; return 1
    fi
    sleep 1
  done
  echo "no line matching '$2' in $1 within $3 s"; tail -n 20 "$work/trainer.log"; return 1
}

# A small model keeps the test quick on a busy machine; the margins hold with it.
model_options=(--embed-dim 32 --hidden-dim 32 --dropout 0.2 --epochs 3 --seed 5 --no-progress)

# ---- one-shot ----
topic=$(fresh_topic trainer)
models=$(fresh_topic trainer-models)
create_topic "$topic" 4
"$STREAMREC_SOURCE/deploy/kafka/create-topics.sh" --bootstrap "$STREAMREC_BOOTSTRAP" --topics "$models:1:compact"
replayed=$("$STREAMREC_BIN" replay --format synthetic --users 2000 --items 300 --events 60000 --seed 3 \
  --topic "$topic" --no-progress --summary-json)
echo "$replayed"
delivered=$(json_field delivered "$replayed")
[ "$delivered" -eq 60000 ] || fail "the replay delivered $delivered of 60000 events"

summary=$("$STREAMREC_BIN" trainer --topic "$topic" --out "$work/model.srm" --publish --model-topic "$models" \
  "${model_options[@]}" 2>"$work/trainer.log") || { cat "$work/trainer.log"; fail "the trainer failed"; }
echo "$summary"

# Every event read: the summary against the replay and an independent reader.
tail_topic "$topic" | sed -n 's/.*"user_id":\([0-9]*\),"item_id":\([0-9]*\),.*/\1 \2/p' >"$work/pairs.txt"
exported=$(wc -l <"$work/pairs.txt")
users=$(cut -d' ' -f1 "$work/pairs.txt" | sort -u | wc -l)
[ "$exported" -eq 60000 ] || fail "tail exported $exported events"
[ "$(json_field events "$summary")" -eq "$delivered" ] || fail "the trainer read $(json_field events "$summary") events"
[ "$(json_field users "$summary")" -eq "$users" ] || fail "the trainer saw $(json_field users "$summary") users, the topic has $users"

# The published version is the file, byte for byte, and it loads.
version=$(json_field model_version "$summary")
"$tools/model_topic_tool" expect --topic "$models" --version "$version" --sha256 "$(sha256_of "$work/model.srm")"

# Better than popularity on the held-out test items.
model_test=$("$STREAMREC_BIN" eval --model "$work/model.srm" --format pairs --input "$work/pairs.txt" --split test 2>/dev/null)
pop_test=$("$STREAMREC_BIN" eval --baseline pop --format pairs --input "$work/pairs.txt" --split test 2>/dev/null)
pop_valid=$("$STREAMREC_BIN" eval --baseline pop --format pairs --input "$work/pairs.txt" --split valid 2>/dev/null)
model_ndcg=$(json_field 'ndcg@10' "$model_test") pop_ndcg=$(json_field 'ndcg@10' "$pop_test")
valid_ndcg=$(json_field 'valid_ndcg@10' "$summary") pop_valid_ndcg=$(json_field 'ndcg@10' "$pop_valid")
echo "test NDCG@10: model $model_ndcg, popularity $pop_ndcg; valid NDCG@10: model $valid_ndcg, popularity $pop_valid_ndcg"
[ "$(json_field users "$model_test")" -eq "$(json_field users "$pop_test")" ] || fail "evaluated different users"
ge "$model_ndcg" "$(awk -v p="$pop_ndcg" 'BEGIN { print p + 0.2 }')" ||
  fail "the model's test NDCG@10 $model_ndcg is not 0.2 above popularity's $pop_ndcg"
ge "$valid_ndcg" "$(awk -v p="$pop_valid_ndcg" 'BEGIN { print p + 0.2 }')" ||
  fail "the model's valid NDCG@10 $valid_ndcg is not 0.2 above popularity's $pop_valid_ndcg"

# ---- continuous ----
topic=$(fresh_topic trainer-cont)
models=$(fresh_topic trainer-cont-models)
create_topic "$topic" 4
"$STREAMREC_SOURCE/deploy/kafka/create-topics.sh" --bootstrap "$STREAMREC_BOOTSTRAP" --topics "$models:1:compact"
"$STREAMREC_BIN" replay --format synthetic --users 2000 --items 300 --events 60000 --seed 3 \
  --topic "$topic" --no-progress >/dev/null
"$STREAMREC_BIN" trainer --topic "$topic" --out "$work/live.srm" --publish --model-topic "$models" \
  "${model_options[@]}" --continuous --retrain-events 5000 --finetune-epochs 2 \
  >"$work/trainer.out" 2>"$work/trainer.log" &
trainer_pid=$!
first=$(wait_for_line "$work/trainer.out" '"model_version"' 300) || fail "no first model"
echo "$first"
first_version=$(json_field model_version "$first")
[ "$(json_field events "$first")" -eq 60000 ] || fail "the first model read $(json_field events "$first") events"
"$tools/model_topic_tool" expect --topic "$models" --version "$first_version" --sha256 "$(sha256_of "$work/live.srm")"

"$STREAMREC_BIN" replay --format synthetic --users 2000 --items 320 --events 6000 --seed 3 \
  --topic "$topic" --no-progress >/dev/null
round=$(wait_for_line "$work/trainer.out" '"round":1,' 300) || fail "no round after 6000 new events"
echo "$round"
decision=$(json_field decision "$round")
[ "$(json_field new_events "$round")" -ge 5000 ] || fail "the round saw $(json_field new_events "$round") new events"
[ "$(json_field holdout_users "$round")" -gt 0 ] || fail "the round had no hold-out users"
log=$(grep '"msg":"round 1: ' "$work/trainer.log" | grep 'hold-out NDCG@10 candidate') || fail "no round log line"
grep -Eq "candidate [0-9.]+ vs serving [0-9.]+" <<<"$log" || fail "the round's log line lacks both figures: $log"
grep -q "\"msg\":\"round 1: $decision (" <<<"$log" || fail "the log line disagrees with the decision: $log"
case "$decision" in
published)
  second_version=$(json_field model_version "$round")
  [ "$second_version" -gt "$first_version" ] || fail "version $second_version is not above $first_version"
  [ "$(json_field items "$round")" -gt 300 ] || fail "the new items did not grow the vocabulary"
  "$tools/model_topic_tool" expect --topic "$models" --version "$second_version" \
    --sha256 "$(sha256_of "$work/live.srm")"
  ;;
rejected)
  "$tools/model_topic_tool" expect --topic "$models" --version "$first_version" \
    --sha256 "$(sha256_of "$work/live.srm")"
  ;;
*) fail "unexpected decision '$decision'" ;;
esac

# SIGTERM between rounds: a clean exit, status 0, within a few seconds.
kill -TERM "$trainer_pid"
deadline=$(( $(date +%s) + 10 ))
while kill -0 "$trainer_pid" 2>/dev/null && [ "$(date +%s)" -le "$deadline" ]; do sleep 0.2; done
kill -0 "$trainer_pid" 2>/dev/null && fail "the trainer still runs 10 s after SIGTERM"
status=0
wait "$trainer_pid" || status=$?
trainer_pid=''
[ "$status" -eq 0 ] || { tail -n 20 "$work/trainer.log"; fail "the trainer exited with status $status after SIGTERM"; }
grep -q '"msg":"stopped after 1 rounds' "$work/trainer.log" || fail "no stop line in the trainer's log"
# --continuous on a topic with no event yet (a fresh deployment): it waits,
# and SIGTERM still ends it with status 0.
empty=$(fresh_topic trainer-empty)
create_topic "$empty" 2
"$STREAMREC_BIN" trainer --topic "$empty" --out "$work/empty.srm" --publish --model-topic "$models" \
  "${model_options[@]}" --continuous --retrain-events 1000 >/dev/null 2>"$work/empty.log" &
trainer_pid=$!
wait_for_line "$work/empty.log" 'holds no events yet: waiting for the first' 60 >/dev/null ||
  { tail -n 5 "$work/empty.log"; fail "the trainer does not say it waits for events"; }
sleep 2
kill -0 "$trainer_pid" 2>/dev/null || { tail -n 5 "$work/empty.log"; fail "the trainer exited on an empty topic"; }
kill -TERM "$trainer_pid"
status=0
wait "$trainer_pid" || status=$?
trainer_pid=''
[ "$status" -eq 0 ] || { tail -n 5 "$work/empty.log"; fail "status $status after SIGTERM while waiting for events"; }
echo "an empty topic: the continuous trainer waits for events; SIGTERM: status 0"

echo "trainer on Kafka: ok (round 1 $decision)"
