#!/usr/bin/env bash
# Forgetting a user, exactly once, on a real broker.
#
# A deletion request is a control record on the event topic: key = the user
# id (so it is ordered with the user's events), header
# streamrec.control=forget-user, no value. Between two synthetic streams
# (10,000 and 5,000 events of 500 users) come forget-user records for users 7
# and 11 (held) and 99999 (never seen), two bad control records (an unknown
# control, a key that is not a user id), and an event of user 17 that carries
# the forget-user header (a record with a value is an event: 17 is not
# forgotten). One exactly-once worker processes it all. Then, read_committed:
#   - verify_states: every user's state counts its events since its last
#     forget (7 and 11 start over; a forgotten user with no later event has
#     no state), and nobody else's state is touched;
#   - verify_recommendations: every list recomputes, 7's and 11's after the
#     forget from their later events alone; no list twice;
#   - the changelog and the output topic each hold a tombstone for 7, 11 and
#     99999, and the output topic's lists for 7 and 11 after their tombstones
#     come from events after the request;
#   - the two bad control records are in the dead-letter topic;
#   - streamrec_users_forgotten_total is 4 (7, 11, 99999, and user 1, forgotten
#     at the end and back with 3 events, whose last list those 3 alone explain).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/worker_harness.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-worker-forget.XXXXXX")
cleanup() { kill_worker; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

events=$(fresh_topic forget-events)
recommendations=$(fresh_topic forget-recs)
dlq=$(fresh_topic forget-dlq)
models=$(fresh_topic forget-models)
changelog=$(fresh_topic forget-changelog)
group=$(fresh_topic forget-group)
"$STREAMREC_SOURCE/deploy/kafka/create-topics.sh" --bootstrap "$STREAMREC_BOOTSTRAP" \
  --topics "$events:4,$recommendations:4,$dlq:1,$models:1:compact,$changelog:4:compact"
"$STREAMREC_BIN" replay --format synthetic --users 500 --items 300 --events 10000 --seed 41 \
  --topic "$events" --no-progress --summary-json >/dev/null || fail "the first replay failed"
"$tools/produce_records" --topic "$events" >/dev/null 2>&1 <<'SPEC' || fail "produce_records failed"
null 7 streamrec.control=forget-user
null 11 streamrec.control=forget-user
null 99999 streamrec.control=forget-user
null 13 streamrec.control=forget-everything
null abc streamrec.control=forget-user
good:17:5 17 streamrec.control=forget-user
SPEC
"$STREAMREC_BIN" replay --format synthetic --users 500 --items 300 --events 5000 --seed 42 \
  --topic "$events" --no-progress --summary-json >/dev/null || fail "the second replay failed"
# User 1 forgotten, then 3 events of its own: its last list comes from those 3
# alone (a long history after a forget would hide the difference: the GRU
# forgets its start and the window fills with the new events).
printf 'null 1 streamrec.control=forget-user\n' | "$tools/produce_records" --topic "$events" >/dev/null 2>&1 ||
  fail "produce_records failed"
"$STREAMREC_BIN" replay --format synthetic --users 1 --items 300 --events 3 --seed 43 \
  --topic "$events" --no-progress --summary-json >/dev/null || fail "the third replay failed"
"$STREAMREC_BUILD/bench/bench_make_model" --out "$work/model.srm" --items 300 2>/dev/null ||
  fail "bench_make_model failed"

start_worker "$work/worker.log" --topic-events "$events" --topic-recommendations "$recommendations" \
  --topic-dlq "$dlq" --topic-models "$models" --topic-changelog "$changelog" --group-id "$group" \
  --model-file "$work/model.srm" --processing-guarantee exactly_once --commit-interval-ms 100 \
  --score-after-events 1 --score-min-interval-ms 0 --transactional-id "$group-tx"
wait_processed 15010 90
forgotten=$(metric streamrec_users_forgotten_total)
stop_worker
[ "$forgotten" = 4 ] || fail "streamrec_users_forgotten_total is $forgotten, 4 expected"

check_states "" "$events" "$changelog"
[ "$(json_field forgets "$states")" -eq 4 ] || fail "verify_states saw $(json_field forgets "$states") forgets"
# Every list recomputed, a forgotten user's from its events after the forget.
check_lists "" "$events" "$recommendations" "$work/model.srm"
[ "$(json_field forgets "$report")" -eq 4 ] && [ "$(json_field tombstones "$report")" -eq 4 ] ||
  fail "verify_recommendations saw $(json_field forgets "$report") forgets and $(json_field tombstones "$report") tombstones, 4 and 4 expected"

tail_topic "$changelog" --type state >"$work/changelog.json"
tail_topic "$recommendations" --type recommendation >"$work/recs.json"
for user in 7 11 99999 1; do
  grep -q "\"key\":\"$user\",\"tombstone\":true" "$work/changelog.json" || fail "no changelog tombstone for user $user"
  grep -q "\"key\":\"$user\",\"tombstone\":true" "$work/recs.json" || fail "no output tombstone for user $user"
done
# Order: a forgotten user's lists before its output tombstone reflect events
# before the forget record, those after it events after the record (source
# offsets on the event topic, where the record sits among the user's events).
tail_topic "$events" >"$work/events.json"
python3 - "$work/events.json" "$work/recs.json" <<'PY' || fail "a list is on the wrong side of its user's forget"
import json, sys
forget = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("tombstone") and r["key"] in ("7", "11"):
        forget[r["key"]] = r["offset"]
after = {"7": False, "11": False}
checked = 0
for line in open(sys.argv[2]):
    r = json.loads(line)
    key = r["key"]
    if key not in forget:
        continue
    if r.get("tombstone"):
        after[key] = True
        continue
    checked += 1
    if (r["source_offset"] > forget[key]) != after[key]:
        print(f"user {key}: list at {r['partition']}@{r['offset']} covers offset {r['source_offset']}, "
              f"the forget is at {forget[key]}, {'after' if after[key] else 'before'} the tombstone")
        sys.exit(1)
print(f"{checked} lists of users 7 and 11 on the right side of their forget")
sys.exit(0 if len(forget) == 2 and all(after.values()) else 1)
PY
dead=$(dead_letters "$dlq")
[ "$dead" -eq 2 ] || fail "$dead records in the dead-letter topic, 2 expected"
echo "PASS"
