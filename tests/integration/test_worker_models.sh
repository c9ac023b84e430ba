#!/usr/bin/env bash
# `streamrec worker` and the model topic on a real broker: a hot swap in the
# middle of the stream, then corrupt publications that must be rejected.
#
# (a) Swap. Stream A (12,000 events, 1,000 users, items 1..280) is replayed and
# model v1 trained on it and published. Stream B (4,000 events, items 1..300:
# 20 items v1 has never seen, which the worker must skip) follows, then a
# worker starts with v1 and processes A and B. Model v2 is trained on A + B
# (another seed; the trainer's versions are its clock in ms, so v2 > v1) and
# published while the worker is idle; the worker must log "serving model v2
# (was v1): swap paused X ms", and only then stream C (4,000 events, items
# 1..320: 20 items v2 lacks; 1,200 users: a new user whose first events are
# such items gets the popularity ranking) is replayed. /metrics must then
# show one swap, version v2, two swap pauses observed (the first model and
# the swap), user states migrated, more unknown items.
#
# (b) Corrupt models. Three publications of versions above v2 are committed
# to the model topic, each damaged in another way (model_topic_tool corrupt:
# a chunk whose bytes do not match its CRC, a file whose own CRC-32C fails
# although the SHA-256 and chunk CRCs match, a manifest naming a chunk that
# never came). After each, the worker must log a rejection and
# streamrec_model_rejections_total must grow, the version must stay v2 and
# no swap happen; stream D (3,000 events) is then processed in full.
#
# SIGTERM: status 0 within 10 s. Then verify_recommendations checks every list
# against both model files with the swap boundary (the end offsets of A + B,
# per partition): lists of v1 only before it, lists after it of v2, each list
# recomputed as the worker computes it (for v2: the user's window at the swap
# recomputed by v2, then the later events; see verify_recommendations.c), no
# recent item, 20 items; popularity lists (version 0) only for users with no
# known item in their window; every user got a list, the last covering its
# last event. Both versions must have lists, and v2 lists after the swap.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/worker_harness.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-worker-models.XXXXXX")
cleanup() { kill_worker; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
started=$(date +%s)

events=$(fresh_topic models-events)
recommendations=$(fresh_topic models-recs)
dlq=$(fresh_topic models-dlq)
models=$(fresh_topic models-models)
changelog=$(fresh_topic models-changelog)
group=$(fresh_topic models-group)
"$STREAMREC_SOURCE/deploy/kafka/create-topics.sh" --bootstrap "$STREAMREC_BOOTSTRAP" \
  --topics "$events:4,$recommendations:4,$dlq:4,$models:1:compact,$changelog:4:compact"

start_ms=1767225600000
replay() {  # replay USERS ITEMS EVENTS SEED: one stream, its event times after the previous one's
  local out
  out=$("$STREAMREC_BIN" replay --format synthetic --users "$1" --items "$2" --events "$3" --seed "$4" \
    --start-time "$start_ms" --time-step 1000 --topic "$events" --no-progress --summary-json)
  [ "$(json_field delivered "$out")" -eq "$3" ] || fail "the replay delivered: $out"
  start_ms=$(( start_ms + $3 * 1000 ))
}
train() {  # train FILE SEED: prints the published version
  local summary
  summary=$("$STREAMREC_BIN" trainer --topic "$events" --out "$1" --publish --model-topic "$models" \
    --embed-dim 32 --hidden-dim 32 --dropout 0.2 --epochs 3 --seed "$2" --no-progress 2>"$1.log") ||
    { tail -n 20 "$1.log" >&2; fail "the trainer failed"; }
  json_field model_version "$summary"
}
wait_for_log() {  # wait_for_log PATTERN SEC: the first line of the worker's log matching PATTERN
  local deadline=$(( $(date +%s) + $2 ))
  until grep -Eq -- "$1" "$worker_log"; do
    kill -0 "$worker_pid" 2>/dev/null || { tail -n 20 "$worker_log"; fail "the worker exited"; }
    [ "$(date +%s)" -le "$deadline" ] || { tail -n 20 "$worker_log"; fail "no log line matching '$1' in $2 s"; }
    sleep 0.2
  done
  grep -E -- "$1" "$worker_log" | head -n 1
}
wait_for_metric() {  # wait_for_metric NAME VALUE SEC: until NAME >= VALUE
  local deadline=$(( $(date +%s) + $3 )) value
  while :; do
    value=$(metric "$1")
    awk -v a="${value:-0}" -v b="$2" 'BEGIN { exit !(a >= b) }' && return 0
    [ "$(date +%s)" -le "$deadline" ] || fail "$1 is '$value', not >= $2 after $3 s"
    sleep 0.2
  done
}

# ---- (a) a swap in the middle of the stream ----
replay 1000 280 12000 7
v1=$(train "$work/v1.srm" 5)
replay 1000 300 4000 8
echo "model v1 = $v1"

start_worker "$work/worker.log" --topic-events "$events" --topic-recommendations "$recommendations" \
  --topic-dlq "$dlq" --topic-models "$models" --group-id "$group" --topic-changelog "$changelog"
wait_processed 16000 90
[ "$(metric streamrec_model_version)" = "$v1" ] || fail "serving $(metric streamrec_model_version), not v1 $v1"
unknown_before=$(metric streamrec_unknown_items_total)
[ "$unknown_before" -gt 0 ] || fail "no event of an item v1 lacks was counted (stream B has 20 new items)"

# The swap boundary: the end offsets of A + B, per partition.
tail_topic "$events" | sed -n 's/^{"partition":\([0-9]*\),"offset":\([0-9]*\),.*/\1 \2/p' |
  awk '{ if ($2 + 1 > end[$1]) end[$1] = $2 + 1; n++ }
       END { for (p in end) printf "%s%s:%s", (k++ ? "," : ""), p, end[p]; if (n != 16000) exit 1 }' \
  >"$work/boundary" || fail "the event topic does not hold the 16000 events of A and B"
boundary=$(cat "$work/boundary")
echo "swap boundary (partition:first offset after it): $boundary"

v2=$(train "$work/v2.srm" 6)
[ "$v2" -gt "$v1" ] || fail "v2 $v2 is not above v1 $v1"
echo "model v2 = $v2"
swap=$(wait_for_log "\"msg\":\"serving model $v2 \\(was $v1\\): swap paused [0-9]+\\.[0-9]+ ms\"" 60)
echo "$swap"
replay 1200 320 4000 9
wait_processed 20000 90
[ "$(metric streamrec_model_swaps_total)" = 1 ] || fail "model swaps: $(metric streamrec_model_swaps_total)"
[ "$(metric streamrec_model_version)" = "$v2" ] || fail "serving $(metric streamrec_model_version), not v2 $v2"
[ "$(metric streamrec_model_swap_pause_seconds_count)" = 1 ] ||
  fail "swap pauses observed: $(metric streamrec_model_swap_pause_seconds_count) (one swap)"
[ "$(metric streamrec_state_migrations_total)" -gt 0 ] || fail "no user state was migrated to v2"
[ "$(metric streamrec_unknown_items_total)" -gt "$unknown_before" ] || fail "no event of an item v2 lacks was counted"
[ "$(metric streamrec_model_rejections_total)" = 0 ] || fail "a rejection before any corrupt model"

# ---- (b) corrupt publications are rejected ----
rejection_lines() {
  grep -Ec '"component":"model","msg":"(rejected at offset [0-9]+|version [0-9]+ verified but does not load)' "$worker_log" || true
}
corrupted=0
for damage in file chunk-crc missing-chunk; do
  before=$(metric streamrec_model_rejections_total)
  version=$(( v2 + corrupted + 1 ))
  "$tools/model_topic_tool" corrupt --topic "$models" --version "$version" --items 400 --seed 3 --damage "$damage"
  corrupted=$(( corrupted + 1 ))
  wait_for_metric streamrec_model_rejections_total $(( before + 1 )) 30
  deadline=$(( $(date +%s) + 10 ))
  until [ "$(rejection_lines)" -ge "$corrupted" ]; do
    [ "$(date +%s)" -le "$deadline" ] || { tail -n 5 "$worker_log"; fail "no rejection logged for version $version ($damage)"; }
    sleep 0.2
  done
  echo "rejected ($damage): $(grep -E '"component":"model","msg":"(rejected at offset|version [0-9]+ verified but does not load)' "$worker_log" | tail -n 1)"
  [ "$(metric streamrec_model_version)" = "$v2" ] || fail "serving $(metric streamrec_model_version) after the corrupt version $version"
  [ "$(metric streamrec_model_swaps_total)" = 1 ] || fail "a swap after the corrupt version $version"
done
replay 1000 300 3000 10
wait_processed 23000 90
[ "$(metric streamrec_model_version)" = "$v2" ] || fail "serving $(metric streamrec_model_version) at the end"
grep -q '"level":"error","component":"worker"' "$worker_log" && fail "the worker logged an error: $(grep '"level":"error","component":"worker"' "$worker_log" | head -n 1)"

stop_worker
final=$(grep '"msg":"stopped after ' "$worker_log")
echo "$final"
grep -q ": 23000 records, 23000 events, 0 dead letters, .* 1 model swaps, serving model $v2\"" <<<"$final" ||
  fail "the summary line disagrees: $final"

# ---- every list, recomputed with the model of its version ----
report=$("$tools/verify_recommendations" --events "$events" --recommendations "$recommendations" \
  --model "$work/v1.srm" --model "$work/v2.srm" --swap-boundary "$boundary" --exclude-recent --topn 20 \
  --allow-popularity --expect-latest --min-recommendations 2000) ||
  { echo "$report"; fail "verify_recommendations found mismatches"; }
echo "$report"
# The verifier allows 1e-3; the worker and it run the same float code, so
# the published scores are in fact far closer (about 1e-6): a hidden state
# stepped differently shows up here even where the ranking survives it.
awk -v e="$(json_field max_score_error "$report")" 'BEGIN { exit !(e < 1e-4) }' ||
  fail "a published score is $(json_field max_score_error "$report") away from its recomputed value"
v1_lists=$(sed -n "s/.*\"versions\":{[^}]*\"$v1\":\([0-9]*\).*/\1/p" <<<"$report")
v2_lists=$(sed -n "s/.*\"versions\":{[^}]*\"$v2\":\([0-9]*\).*/\1/p" <<<"$report")
[ "${v1_lists:-0}" -gt 0 ] || fail "no list of v1"
[ "${v2_lists:-0}" -gt 0 ] || fail "no list of v2"
[ "$(json_field post_swap_lists "$report")" -gt 0 ] || fail "no list of v2 after the swap was checked"
echo "worker models: ok ($v1_lists lists of v1, $v2_lists of v2; $(( $(date +%s) - started )) s)"
