#!/usr/bin/env bash
# `streamrec worker` end to end on a real broker, at-least-once.
#
# A synthetic stream (40,000 events, 2,000 users, 300 items) is replayed into a
# fresh 4-partition event topic and a small model is trained on it and
# published to a fresh model topic. A worker (default scoring policy: a list at
# a user's first event, then after each new event at most once a second, top
# 20 without the user's recent items) then processes the whole topic. While it
# runs: /healthz and /readyz answer 200; /metrics has every family the worker
# documents (worker/stream/worker_metrics.c), counts 40,000 records and events,
# no dead letters, serves the trained version, and its labels are only topic,
# partition and le (no user ids: a fixed number of series). SIGTERM must end
# it with status 0 within 10 s, its summary line must agree with the metrics.
#
# Then:
#   - verify_recommendations reads both topics and recomputes every list from
#     the model file and the user's events up to the list's source offset: all
#     must match, carry the trained version, hold 20 items none of which is in
#     the user's window; every user got a list and its last list covers its
#     last event; the topic holds exactly the lists the worker counted.
#   - the group's committed offsets equal the topic's end offsets (Kafka's own
#     ConsumerGroupCommand);
#   - a worker restarted in the same group consumes nothing (its records
#     counter stays 0 once it holds all 4 partitions) and publishes nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/worker_harness.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-worker-e2e.XXXXXX")
cleanup() { kill_worker; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
started=$(date +%s)

events=$(fresh_topic worker-events)
recommendations=$(fresh_topic worker-recs)
dlq=$(fresh_topic worker-dlq)
models=$(fresh_topic worker-models)
group=$(fresh_topic worker-group)
"$STREAMREC_SOURCE/deploy/kafka/create-topics.sh" --bootstrap "$STREAMREC_BOOTSTRAP" \
  --topics "$events:4,$recommendations:4,$dlq:4,$models:1:compact"

replayed=$("$STREAMREC_BIN" replay --format synthetic --users 2000 --items 300 --events 40000 --seed 7 \
  --topic "$events" --no-progress --summary-json)
[ "$(json_field delivered "$replayed")" -eq 40000 ] || fail "the replay delivered: $replayed"

summary=$("$STREAMREC_BIN" trainer --topic "$events" --out "$work/model.srm" --publish --model-topic "$models" \
  --embed-dim 32 --hidden-dim 32 --dropout 0.2 --epochs 3 --seed 5 --no-progress 2>"$work/trainer.log") ||
  { tail -n 20 "$work/trainer.log"; fail "the trainer failed"; }
version=$(json_field model_version "$summary")
trained_users=$(json_field users "$summary")
echo "trained model $version on $trained_users users"

worker_args=(--topic-events "$events" --topic-recommendations "$recommendations" --topic-dlq "$dlq"
             --topic-models "$models" --group-id "$group" --processing-guarantee at_least_once)
start_worker "$work/worker.log" "${worker_args[@]}"
wait_processed 40000 90

# ---- probes and metrics while it runs ----
[ "$(http_status "http://127.0.0.1:$worker_port/healthz")" = 200 ] || fail "/healthz is not 200"
[ "$(http_status "http://127.0.0.1:$worker_port/readyz")" = 200 ] || fail "/readyz is not 200"
metrics >"$work/metrics.txt"
for family in streamrec_records_consumed_total streamrec_events_total streamrec_steps_total \
    streamrec_unknown_items_total streamrec_scorings_total streamrec_popularity_scorings_total \
    streamrec_recommendations_total streamrec_dlq_records_total streamrec_decode_failures_total \
    streamrec_invalid_records_total streamrec_evictions_total streamrec_expirations_total \
    streamrec_model_swaps_total streamrec_state_migrations_total streamrec_model_rejections_total \
    streamrec_commits_total streamrec_commit_failures_total streamrec_rebalances_total \
    streamrec_delivery_failures_total streamrec_online_hits_total streamrec_online_hit_checks_total; do
  grep -q "^# TYPE $family counter$" "$work/metrics.txt" || fail "/metrics lacks the counter $family"
done
for family in streamrec_model_version streamrec_users streamrec_state_bytes streamrec_popularity_bytes \
    streamrec_assigned_partitions streamrec_model_loaded streamrec_online_hit_rate \
    streamrec_consumer_lag_records process_resident_memory_bytes process_start_time_seconds; do
  grep -q "^# TYPE $family gauge$" "$work/metrics.txt" || fail "/metrics lacks the gauge $family"
done
for family in streamrec_event_to_publish_latency_seconds streamrec_model_swap_pause_seconds \
    streamrec_step_batch_seconds; do
  grep -q "^# TYPE $family histogram$" "$work/metrics.txt" || fail "/metrics lacks the histogram $family"
done
value() { awk -v n="$1" '$1 == n { print $2; exit }' "$work/metrics.txt"; }
[ "$(value streamrec_records_consumed_total)" = 40000 ] || fail "records consumed: $(value streamrec_records_consumed_total)"
[ "$(value streamrec_events_total)" = 40000 ] || fail "events: $(value streamrec_events_total)"
[ "$(value streamrec_dlq_records_total)" = 0 ] || fail "dead letters: $(value streamrec_dlq_records_total)"
[ "$(value streamrec_model_version)" = "$version" ] || fail "serving version $(value streamrec_model_version), trained $version"
[ "$(value streamrec_model_loaded)" = 1 ] || fail "streamrec_model_loaded is not 1"
[ "$(value streamrec_assigned_partitions)" = 4 ] || fail "assigned partitions: $(value streamrec_assigned_partitions)"
[ "$(value streamrec_users)" = "$trained_users" ] || fail "users held: $(value streamrec_users), the topic has $trained_users"
[ "$(value streamrec_delivery_failures_total)" = 0 ] || fail "delivery failures"
running_recommendations=$(value streamrec_recommendations_total)
[ "$running_recommendations" -ge "$trained_users" ] || fail "only $running_recommendations recommendations"
# Labels: only these names, and few series whatever the number of users.
labels=$(grep -v '^#' "$work/metrics.txt" | grep -o '[{,][a-z_]*="' | tr -d '{,="' | sort -u | tr '\n' ' ')
[ "$labels" = "le partition topic " ] || fail "unexpected label names: '$labels'"
series=$(grep -vc '^#' "$work/metrics.txt")
[ "$series" -lt 150 ] || fail "$series series in /metrics (user ids in labels?)"
grep -q "^streamrec_consumer_lag_records{topic=\"$events\",partition=\"3\"} 0$" "$work/metrics.txt" ||
  fail "no lag series for partition 3 of $events"

stop_worker
final=$(grep '"msg":"stopped after ' "$work/worker.log")
echo "$final"
produced=$(sed -n 's/.* \([0-9]*\) recommendations,.*/\1/p' <<<"$final")
grep -q ": 40000 records, 40000 events, 0 dead letters, $produced recommendations" <<<"$final" ||
  fail "the summary line disagrees: $final"
[ "$produced" -eq "$running_recommendations" ] || fail "$produced recommendations at the stop, $running_recommendations before it"

# ---- committed offsets = end offsets ----
"$STREAMREC_SOURCE/deploy/kafka/kafka-tool.sh" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
  --bootstrap-server "$STREAMREC_BOOTSTRAP" --describe --group "$group" >"$work/group.txt" 2>&1 ||
  { cat "$work/group.txt"; fail "ConsumerGroupCommand failed"; }
awk -v t="$events" '$2 == t' "$work/group.txt" >"$work/group-rows.txt"
[ "$(wc -l <"$work/group-rows.txt")" -eq 4 ] || { cat "$work/group.txt"; fail "the group has no committed offsets for 4 partitions"; }
awk '$4 != $5 { bad = 1 } { sum += $4 } END { exit bad || sum != 40000 }' "$work/group-rows.txt" ||
  { cat "$work/group.txt"; fail "committed offsets are not the end offsets"; }
echo "committed offsets: $(awk '{ printf "%s:%s ", $3, $4 }' "$work/group-rows.txt")"

# ---- a restart in the same group has nothing to do ----
start_worker "$work/worker2.log" "${worker_args[@]}"
deadline=$(( $(date +%s) + 30 ))
until [ "$(metric streamrec_assigned_partitions)" = 4 ]; do
  [ "$(date +%s)" -le "$deadline" ] || fail "the restarted worker did not get the 4 partitions in 30 s"
  sleep 0.2
done
sleep 3
[ "$(metric streamrec_records_consumed_total)" = 0 ] || fail "the restarted worker consumed $(metric streamrec_records_consumed_total) records"
[ "$(metric streamrec_recommendations_total)" = 0 ] || fail "the restarted worker produced recommendations"
stop_worker
grep -q ': 0 records, 0 events, 0 dead letters, 0 recommendations' "$work/worker2.log" ||
  fail "the restarted worker's summary: $(grep '"msg":"stopped after ' "$work/worker2.log")"

# ---- every list, recomputed ----
report=$("$tools/verify_recommendations" --events "$events" --recommendations "$recommendations" \
  --model "$work/model.srm" --exclude-recent --topn 20 --expect-version "$version" --expect-latest \
  --min-recommendations "$trained_users") || { echo "$report"; fail "verify_recommendations found mismatches"; }
echo "$report"
[ "$(json_field recommendations "$report")" -eq "$produced" ] || fail "the topic holds $(json_field recommendations "$report") lists, the worker produced $produced"
# The verifier allows 1e-3; the worker and it run the same float code, so
# the published scores are in fact far closer (about 1e-6): a hidden state
# stepped differently shows up here even where the ranking survives it.
awk -v e="$(json_field max_score_error "$report")" 'BEGIN { exit !(e < 1e-4) }' ||
  fail "a published score is $(json_field max_score_error "$report") away from its recomputed value"
[ "$(json_field users_with_events "$report")" -eq "$trained_users" ] || fail "users with events: $(json_field users_with_events "$report")"
[ "$(json_field users_recommended "$report")" -eq "$trained_users" ] || fail "users recommended: $(json_field users_recommended "$report")"
echo "worker end to end: ok ($(( $(date +%s) - started )) s)"
