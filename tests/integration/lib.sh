# Shared by the integration test scripts (sourced, not run). The CTest fixture
# (broker_fixture.sh) has set STREAMREC_BOOTSTRAP, STREAMREC_BIN (the streamrec
# executable), STREAMREC_BUILD and STREAMREC_SOURCE.
set -euo pipefail
: "${STREAMREC_BOOTSTRAP:?set by broker_fixture.sh}"
: "${STREAMREC_BIN:?set by CTest}"
tools=$STREAMREC_BUILD/tests
shared_data=$STREAMREC_SOURCE/../shared/data

# A topic name no earlier run used, so that tests never see each other's data.
fresh_topic() { echo "it-$1-$(date +%s%N)"; }

create_topic() {  # create_topic NAME PARTITIONS
  "$STREAMREC_SOURCE/deploy/kafka/create-topics.sh" --bootstrap "$STREAMREC_BOOTSTRAP" --topics "$1:$2"
}

# tail_topic TOPIC [TAIL OPTIONS]: the whole topic as tail's JSON lines.
tail_topic() { "$STREAMREC_BIN" tail --topic "$1" --from-beginning --exit-at-end "${@:2}"; }

# decoded_events TOPIC [TAIL OPTIONS]: how many records tail decodes as events;
# a record printed with an "error" has no event_type and is not counted.
decoded_events() { tail_topic "$@" | { grep -c '"event_type":' || true; }; }

# produce_bad_records TOPIC: five records a worker must dead-letter, once each:
# damaged Avro, not Avro, and good events whose key is not their user id.
produce_bad_records() {
  "$tools/produce_records" --topic "$1" >/dev/null 2>&1 <<'SPEC'
truncated:5:10 5
bad-magic:6:11 6
hex:ffff 7
good:8:12 9
good:10:13 abc
SPEC
}

# The exactly-once tests' verifiers (the caller defines `fail`; LABEL prefixes
# the messages, e.g. "after the crash: "):
#   check_states LABEL EVENTS CHANGELOG [verify_states ARGS]   sets $states
#   check_lists LABEL EVENTS RECOMMENDATIONS MODEL              sets $report
#     (every list recomputed with the worker's defaults, top 20 without the
#     recent items, no (user, source offset) twice, the last list of each
#     user covers its last event)
#   dead_letters TOPIC     prints how many dead letters the topic holds
check_states() {
  states=$("$tools/verify_states" --events "$2" --changelog "$3" "${@:4}") ||
    { echo "$states"; fail "${1}verify_states found mismatches"; }
  echo "${1}states: $states"
}

check_lists() {
  report=$("$tools/verify_recommendations" --events "$2" --recommendations "$3" --model "$4" \
    --exclude-recent --topn 20 --expect-latest --allow-popularity) ||
    { echo "$report"; fail "${1}verify_recommendations found mismatches"; }
  echo "${1}recommendations: $(cut -c1-200 <<<"$report")"
}

dead_letters() {
  "$tools/read_dead_letters" --topic "$1" 2>/dev/null | { grep -c 'streamrec.error"' || true; }
}

# A dataset from ../shared/data when it is there, else the fallback fixture.
dataset_or() {  # dataset_or RELATIVE_PATH FALLBACK
  if [ -f "$shared_data/$1" ]; then echo "$shared_data/$1"; else echo "$2"; fi
}
