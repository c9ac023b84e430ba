#!/usr/bin/env bash
# Replay a synthetic stream (200,000 events, 20,000 users) into the real broker,
# rate-unlimited, and check every field of every event with an independent
# consumer; then a rate-limited replay delivers exactly --limit events; then
# plain framing is not read as registry framing (and is read as plain).
. "$(dirname "$0")/lib.sh"

topic=$(fresh_topic synthetic)
create_topic "$topic" 4
# 1704067200000 = 2024-01-01T00:00:00Z, the generator's default start, which
# the verifier regenerates the stream with.
"$STREAMREC_BIN" replay --format synthetic --users 20000 --items 5000 --events 200000 --seed 42 \
  --start-time 1704067200000 --topic "$topic" --no-progress
"$tools/verify_topic" --topic "$topic" --expect-synthetic 20000,5000,200000,42

topic=$(fresh_topic limited)
create_topic "$topic" 2
summary=$("$STREAMREC_BIN" replay --format synthetic --events 100000 --limit 3000 --rate 20000 \
  --topic "$topic" --no-progress --summary-json)
echo "$summary"
grep -q '"events":3000' <<<"$summary" || { echo "expected 3000 events in the summary"; exit 1; }
count=$(decoded_events "$topic")
[ "$count" -eq 3000 ] || { echo "tail decoded $count records, expected 3000"; exit 1; }

# Registry framing is the default; plain framing must not be read as registry.
topic=$(fresh_topic plain)
create_topic "$topic" 2
"$STREAMREC_BIN" replay --format synthetic --limit 500 --wire plain --topic "$topic" --no-progress
as_registry=$(tail_topic "$topic" --wire registry | { grep -c '"error":"bad_magic"' || true; })
[ "$as_registry" -eq 500 ] ||
  { echo "registry read of plain records: $as_registry of 500 reported bad_magic"; exit 1; }
as_plain=$(decoded_events "$topic" --wire plain)
[ "$as_plain" -eq 500 ] || { echo "plain read decoded $as_plain of 500 records"; exit 1; }
