#!/usr/bin/env bash
# `streamrec worker`'s life cycle on a real broker: stopping, configuration
# errors, readiness.
#
# (a) Graceful stop, once with SIGTERM and once with SIGINT, each while the
#     worker processes a live stream (40,000 events replayed at 10,000/s into
#     a fresh 4-partition topic; the signal comes once it consumed 8,000): it
#     exits 0 within 10 s; after the signal its log says it is finishing the
#     batch, flushing and committing, ends with its summary line and has no
#     error; Kafka's ConsumerGroupCommand then finds the group with no active
#     members and committed offsets that add up to exactly the records the
#     summary counts (everything consumed was committed, nothing more). After
#     the SIGTERM a second worker in the group gets all 4 partitions at once
#     (no wait for a session timeout: the first one left the group) and
#     consumes exactly the rest of the stream.
# (b) Configuration errors exit 2, before any Kafka connection, with a message
#     naming the key and where it came from: an unknown key in a properties
#     file, an unknown flag, a bad value in the environment
#     (STREAMREC_SCORE_TOPN=abc), a STREAMREC_KAFKA_* variable naming no
#     librdkafka property, an unknown librdkafka property (-X), a bad
#     librdkafka value, a value out of range (--score-topn 0), a missing
#     --config file. --print-config exits 0 and shows the effective values
#     with their sources, kafka.sasl.password (from the environment) masked;
#     STREAMREC_* variables that name no key are ignored.
# (c) Readiness: with --model-wait true and an empty model topic, /healthz is
#     200 and /readyz 503 and nothing is consumed; SIGTERM then ends it with
#     status 0. A second such worker turns ready (/readyz 200) once a tiny
#     model trained on the topic is published, serves that version and
#     consumes the topic.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/worker_test_control.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-lifecycle-it.XXXXXX")
replay_pid=''
trap 'worker_cleanup; if [ -n "$replay_pid" ]; then kill "$replay_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
started=$(date +%s%N)

term_events=$(fresh_topic life-term-events)
int_events=$(fresh_topic life-int-events)
ready_events=$(fresh_topic life-ready-events)
recommendations=$(fresh_topic life-recs)
dlq=$(fresh_topic life-dlq)
models=$(fresh_topic life-models)
# The default guarantee (exactly_once) keeps user states in a changelog
# co-partitioned with each event topic.
term_changelog=$(fresh_topic life-term-changelog)
int_changelog=$(fresh_topic life-int-changelog)
ready_changelog=$(fresh_topic life-ready-changelog)
"$STREAMREC_SOURCE/deploy/kafka/create-topics.sh" --bootstrap "$STREAMREC_BOOTSTRAP" \
  --topics "$term_events:4,$int_events:4,$ready_events:4,$recommendations:4,$dlq:1,$models:1:compact,$term_changelog:4:compact,$int_changelog:4:compact,$ready_changelog:4:compact"
wait_for_topics "$models" "$term_events" "$int_events" "$ready_events" "$recommendations" "$dlq" \
  "$term_changelog" "$int_changelog" "$ready_changelog"
outputs=(--topic-recommendations "$recommendations" --topic-dlq "$dlq" --topic-models "$models")

# ---- (a) graceful stop ----
n=40000
# graceful_stop SIGNAL TOPIC GROUP: the worker stopped mid-stream by SIGNAL;
# sets consumed (its summary's records) and committed (the group's sum).
graceful_stop() {
  local signal=$1 topic=$2 group=$3 changelog=$4 log=$work/stop-$1.log port
  start_worker "$log" --group-id "$group" --topic-events "$topic" --topic-changelog "$changelog" "${outputs[@]}"
  local pid=$WORKER_PID
  port=$(worker_port "$log") || fail "SIG$signal: the worker did not start"
  wait_for_metric "$port" streamrec_assigned_partitions 4 30 "$pid" || fail "SIG$signal: no partitions"
  "$STREAMREC_BIN" replay --format synthetic --users 2000 --events "$n" --seed 5 --rate 10000 \
    --topic "$topic" --no-progress >/dev/null 2>"$work/replay.log" &
  replay_pid=$!
  wait_for_metric "$port" streamrec_records_consumed_total 8000 30 "$pid" || fail "SIG$signal: nothing consumed"
  local signal_line
  signal_line=$(wc -l <"$log")
  stop_worker "$pid" "$signal" 10 || { tail -n 20 "$log"; fail "SIG$signal: no exit within 10 s"; }
  [ "$WORKER_STATUS" -eq 0 ] || { tail -n 20 "$log"; fail "SIG$signal: exit status $WORKER_STATUS"; }
  echo "SIG$signal: exited 0 after $WORKER_STOP_MS ms"
  tail -n +"$(( signal_line + 1 ))" "$log" >"$log.after"
  grep -q '"msg":"stopping: finishing the batch, flushing, committing"' "$log.after" ||
    { cat "$log.after"; fail "SIG$signal: no 'finishing the batch, flushing, committing' line after the signal"; }
  tail -n 1 "$log" | grep -q '"msg":"stopped after ' || { tail -n 5 "$log"; fail "SIG$signal: the summary is not the last line"; }
  ! grep -q '"level":"error"' "$log" || { grep '"level":"error"' "$log"; fail "SIG$signal: errors in the log"; }
  consumed=$(tail -n 1 "$log" | sed -n 's/.*: \([0-9]*\) records, .*/\1/p')
  [ "$consumed" -ge 8000 ] && [ "$consumed" -lt "$n" ] || fail "SIG$signal: consumed $consumed records: not mid-stream"
  group_describe "$group" >"$work/group-$signal.txt"
  grep -q "Consumer group '$group' has no active members" "$work/group-$signal.txt" ||
    { cat "$work/group-$signal.txt"; fail "SIG$signal: the group still has members"; }
  committed=$(group_offsets <"$work/group-$signal.txt" | awk -v t="$topic" '$1 == t && $3 != "-" { s += $3 } END { print s + 0 }')
  [ "$committed" -eq "$consumed" ] ||
    { cat "$work/group-$signal.txt"; fail "SIG$signal: the committed offsets add up to $committed, the worker consumed $consumed"; }
  echo "SIG$signal: consumed and committed $consumed of $n records; the group has no members"
}

term_group=$(fresh_topic life-term-group)
graceful_stop TERM "$term_events" "$term_group" "$term_changelog"
# The partitions are free at once: a second worker gets them all and consumes the rest.
joined=$(date +%s%N)
start_worker "$work/second.log" --group-id "$term_group" --topic-events "$term_events" \
  --topic-changelog "$term_changelog" "${outputs[@]}"
port=$(worker_port "$work/second.log") || fail "the second worker did not start"
wait_for_metric "$port" streamrec_assigned_partitions 4 10 "$WORKER_PID" ||
  fail "the second worker did not get the 4 partitions within 10 s (the first one did not leave the group?)"
echo "the second worker had all 4 partitions $(( ($(date +%s%N) - joined) / 1000000 )) ms after its start"
wait "$replay_pid" || fail "the replay failed: $(cat "$work/replay.log")"
replay_pid=''
wait_for_metric "$port" streamrec_records_consumed_total $(( n - consumed )) 30 "$WORKER_PID" ||
  fail "the second worker did not consume the rest"
sleep 0.5
rest=$(metric "$port" streamrec_records_consumed_total)
stop_worker "$WORKER_PID" TERM 10 || fail "the second worker did not stop"
[ "$rest" -eq $(( n - consumed )) ] || fail "the second worker consumed $rest records, the rest is $(( n - consumed ))"

graceful_stop INT "$int_events" "$(fresh_topic life-int-group)" "$int_changelog"
wait "$replay_pid" || true
replay_pid=''

# ---- (b) configuration errors ----
# expect_usage_error WHAT PATTERN [ENV=VALUE...] -- ARGS...: exit 2, PATTERN in the message.
expect_usage_error() {
  local what=$1 pattern=$2 env=() status=0 out
  shift 2
  while [ "$1" != -- ]; do env+=("$1"); shift; done
  shift
  out=$(env "${env[@]}" timeout 20 "$STREAMREC_BIN" worker --bootstrap 127.0.0.1:1 "$@" 2>&1) || status=$?
  [ "$status" -eq 2 ] || fail "$what: exit status $status, not 2: $out"
  grep -qF -- "$pattern" <<<"$out" || fail "$what: the message does not name '$pattern': $out"
  echo "$what: $(head -n 1 <<<"$out")"
}
printf 'score.topn = 5\nscore.topnn = 5\n' >"$work/bad.properties"
expect_usage_error "unknown key in a file" "'score.topnn' (file $work/bad.properties:2)" -- --config "$work/bad.properties"
expect_usage_error "unknown flag" "'--no-such-flag'" -- --no-such-flag 1
expect_usage_error "bad value in the environment" "'score.topn' = 'abc' (env STREAMREC_SCORE_TOPN)" STREAMREC_SCORE_TOPN=abc --
expect_usage_error "unknown kafka variable" "'kafka.no.such.property' (env STREAMREC_KAFKA_NO_SUCH_PROPERTY)" \
  STREAMREC_KAFKA_NO_SUCH_PROPERTY=1 --
expect_usage_error "unknown kafka property" "'kafka.no.such.property' (flag -X)" -- -X no.such.property=1
expect_usage_error "bad kafka value" "'kafka.linger.ms' = 'abc' (flag -X)" -- -X linger.ms=abc
expect_usage_error "value out of range" "'score.topn' = '0' (flag --score-topn)" -- --score-topn 0
expect_usage_error "missing config file" "$work/missing.properties" -- --config "$work/missing.properties"

printf '# a file\nscore.min.interval.ms: 250\n' >"$work/good.properties"
status=0
STREAMREC_KAFKA_SASL_PASSWORD=hunter2-secret STREAMREC_NO_SUCH_KEY=1 STREAMREC_SCORE_TOPN=9 \
  "$STREAMREC_BIN" worker --print-config --config "$work/good.properties" -X sasl.username=alice \
  --poll-batch 512 >"$work/print.txt" 2>&1 || status=$?
[ "$status" -eq 0 ] || { cat "$work/print.txt"; fail "--print-config exited $status"; }
! grep -q 'hunter2-secret' "$work/print.txt" || { cat "$work/print.txt"; fail "--print-config shows the SASL password"; }
for expected in 'kafka.sasl.password=********' 'kafka.sasl.username=alice' 'poll.batch=512' '# flag --poll-batch' \
    'score.topn=9' '# env STREAMREC_SCORE_TOPN' 'score.min.interval.ms=250' "# file $work/good.properties:2" \
    'processing.guarantee=exactly_once' 'commit.interval.ms=100' 'group.id=streamrec-worker'; do
  grep -qxF -- "$expected" "$work/print.txt" || { cat "$work/print.txt"; fail "--print-config lacks the line '$expected'"; }
done
"$STREAMREC_BIN" worker --print-config --processing-guarantee at_least_once >"$work/print-alo.txt" 2>&1 ||
  fail "--print-config with at_least_once failed: $(cat "$work/print-alo.txt")"
grep -A1 -xF '# default for at_least_once' "$work/print-alo.txt" | grep -qxF 'commit.interval.ms=1000' ||
  { cat "$work/print-alo.txt"; fail "at_least_once does not default to a commit every 1000 ms"; }
echo "--print-config: effective values with their sources, the password masked; at_least_once commits every 1000 ms"

# exactly_once (the default) without its changelog topic: a configuration error
# naming the topic, exit 2, at the first assignment.
missing=$(fresh_topic life-missing-changelog)
status=0
timeout 60 "$STREAMREC_BIN" worker --bootstrap "$STREAMREC_BOOTSTRAP" --group-id "$(fresh_topic life-missing-group)" \
  --topic-events "$ready_events" --topic-changelog "$missing" "${outputs[@]}" --http-port -1 \
  2>"$work/missing.log" || status=$?
[ "$status" -eq 2 ] && grep -q "exactly_once keeps user states in '$missing', which must exist" "$work/missing.log" ||
  { tail -n 5 "$work/missing.log"; fail "a missing changelog topic: exit $status, not 2 with a message naming it"; }
echo "a missing changelog topic: exit 2, $(grep -o "exactly_once keeps user states in '[^']*', which must exist" "$work/missing.log")"

# ---- (c) readiness ----
"$STREAMREC_BIN" replay --format synthetic --users 500 --items 100 --events 5000 --seed 3 \
  --topic "$ready_events" --no-progress >/dev/null
ready_args=(--topic-events "$ready_events" --topic-changelog "$ready_changelog" "${outputs[@]}" --model-wait true)
start_worker "$work/waiting.log" --group-id "$(fresh_topic life-wait-group)" "${ready_args[@]}"
port=$(worker_port "$work/waiting.log") || fail "the waiting worker did not start"
deadline=$(( $(date +%s) + 30 ))
until grep -q '"msg":"no model on topic .* waiting for the trainer' "$work/waiting.log"; do
  [ "$(date +%s)" -le "$deadline" ] || { tail -n 5 "$work/waiting.log"; fail "the worker does not say it waits for a model"; }
  sleep 0.1
done
status=$(http_status "http://127.0.0.1:$port/healthz")
[ "$status" = 200 ] || fail "/healthz is $status while waiting for a model"
status=$(http_status "http://127.0.0.1:$port/readyz")
[ "$status" = 503 ] || fail "/readyz is $status while waiting for a model"
echo "waiting for a model: /healthz 200, /readyz 503 ($(http_get "http://127.0.0.1:$port/readyz"))"
sleep 1
[ "$(metric "$port" streamrec_records_consumed_total)" -eq 0 ] || fail "the worker consumed records before it had a model"
stop_worker "$WORKER_PID" TERM 10 || fail "no exit within 10 s of SIGTERM while waiting for a model"
[ "$WORKER_STATUS" -eq 0 ] || { tail -n 10 "$work/waiting.log"; fail "exit status $WORKER_STATUS after SIGTERM while waiting"; }

start_worker "$work/ready.log" --group-id "$(fresh_topic life-ready-group)" "${ready_args[@]}"
port=$(worker_port "$work/ready.log") || fail "the worker did not start"
sleep 1
status=$(http_status "http://127.0.0.1:$port/readyz")
[ "$status" = 503 ] || fail "/readyz is $status before any model"
trained=$("$STREAMREC_BIN" trainer --topic "$ready_events" --out "$work/model.srm" --publish --model-topic "$models" \
  --embed-dim 8 --hidden-dim 8 --epochs 1 --seed 5 --no-progress 2>"$work/trainer.log") ||
  { tail -n 20 "$work/trainer.log"; fail "the trainer failed"; }
version=$(sed -n 's/.*"model_version":\([0-9]*\).*/\1/p' <<<"$trained")
published_ms=$(( $(date +%s%N) / 1000000 ))
deadline=$(( $(date +%s) + 30 ))
while :; do
  status=$(http_status "http://127.0.0.1:$port/readyz")
  [ "$status" = 200 ] && break
  [ "$(date +%s)" -le "$deadline" ] || { tail -n 10 "$work/ready.log"; fail "/readyz is still $status 30 s after the model was published"; }
  sleep 0.1
done
echo "model $version published: /readyz 200 after $(( $(date +%s%N) / 1000000 - published_ms )) ms"
status=$(http_status "http://127.0.0.1:$port/healthz")
[ "$status" = 200 ] || fail "/healthz is $status with a model"
grep -q "\"msg\":\"serving model $version (was 0)" "$work/ready.log" || fail "no 'serving model $version' line"
wait_for_metric "$port" streamrec_records_consumed_total 5000 30 "$WORKER_PID" || fail "the ready worker did not consume the topic"
[ "$(metric "$port" streamrec_model_version)" = "$version" ] || fail "serving version $(metric "$port" streamrec_model_version)"
stop_worker "$WORKER_PID" TERM 10 || fail "the ready worker did not stop"
[ "$WORKER_STATUS" -eq 0 ] || fail "the ready worker exited $WORKER_STATUS"
echo "lifecycle: ok ($(( ($(date +%s%N) - started) / 1000000 )) ms)"
