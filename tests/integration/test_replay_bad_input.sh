#!/usr/bin/env bash
# Bad input lines against the real broker: skipped and counted by default (the
# good lines all arrive), fatal with --on-bad-line fail (nothing produced); a bad
# Kafka setting is a usage error naming the key; an unreachable broker fails.
. "$(dirname "$0")/lib.sh"
data=$STREAMREC_SOURCE/tests/data

topic=$(fresh_topic bad-skip)
create_topic "$topic" 1
summary=$("$STREAMREC_BIN" replay --format lines --input "$data/replay_lines_bad.txt" --topic "$topic" \
  --no-progress --summary-json 2>"${TMPDIR:-/tmp}/bad-lines.$$")
echo "$summary"
skipped=$(grep -o '"bad_lines_skipped":[0-9]*' <<<"$summary" | cut -d: -f2)
[ "${skipped:-0}" -gt 0 ] || { echo "bad lines were not counted"; exit 1; }
grep -q 'replay_lines_bad.txt:[0-9]' "${TMPDIR:-/tmp}/bad-lines.$$" ||
  { echo "bad lines were not reported with their line numbers"; cat "${TMPDIR:-/tmp}/bad-lines.$$"; exit 1; }
rm -f "${TMPDIR:-/tmp}/bad-lines.$$"
produced=$(grep -o '"events":[0-9]*' <<<"$summary" | cut -d: -f2)
read_back=$(decoded_events "$topic")
[ "$read_back" -eq "$produced" ] || { echo "decoded $read_back of $produced events"; exit 1; }

topic=$(fresh_topic bad-fail)
create_topic "$topic" 1
if "$STREAMREC_BIN" replay --format lines --input "$data/replay_lines_bad.txt" --topic "$topic" \
     --no-progress --on-bad-line fail 2>/dev/null; then
  echo "--on-bad-line fail did not fail"; exit 1
fi
records=$(tail_topic "$topic" | wc -l)
[ "$records" -eq 0 ] || { echo "--on-bad-line fail produced $records records"; exit 1; }

set +e
out=$("$STREAMREC_BIN" replay --format synthetic --limit 10 --topic "$topic" -X linger.msx=5 2>&1)
status=$?
set -e
[ "$status" -eq 2 ] && grep -q "linger.msx" <<<"$out" || { echo "bad key: status $status, $out"; exit 1; }

set +e
out=$("$STREAMREC_BIN" replay --format synthetic --limit 10 --bootstrap 127.0.0.1:1 --no-progress \
  -X message.timeout.ms=2000 2>&1)
status=$?
set -e
[ "$status" -eq 1 ] || { echo "unreachable broker: status $status, $out"; exit 1; }
echo "bad input handled"
