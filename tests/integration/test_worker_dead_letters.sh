#!/usr/bin/env bash
# `streamrec worker`'s dead-letter path on a real broker.
#
# A fresh 2-partition event topic gets, from produce_records (which writes the
# Avro bytes by hand, not with streamrec's encoder), good events of users
# 1001..1006 and, between them, one record of each bad kind: no value (null),
# an empty value, truncated Avro, a wrong magic byte, an unknown schema id, a
# bad union branch, a bad enum index, trailing bytes, a bad varint, a negative
# string length, a session id over 256 bytes, a NaN value, keys that are not
# the decimal user id (another text, none, another user's id: dead-lettered by
# default, input.require.key.match), a bad record with headers of its own
# (repeated names, a header with no value), and a bad record as the last
# record of a partition; a good record with headers is processed normally.
# The bad records are of users 2001..2018, who must get no recommendation.
#
# A worker (fresh group, popularity ranking: no model) runs until /metrics
# counts every record, then SIGTERM (status 0). Then, against the records as
# an independent reader finds them on the event topic:
#   - every bad record is on the dead-letter topic exactly once, and nothing
#     else is: original key and value bytes (null and empty kept apart), its
#     own headers in order, then streamrec.error (the status name expected
#     for its kind), streamrec.error.message (not empty),
#     streamrec.source.topic/partition/offset (where produce_records says it
#     was delivered), streamrec.dead.lettered.at (between the worker's start
#     and stop, ms);
#   - /metrics and the summary line: records = all, events = the good ones,
#     dead letters = the bad ones (decode failures and invalid records apart);
#   - the recommendation topic has lists for exactly the good users;
#   - the group's committed offsets are the end offsets (Kafka's
#     ConsumerGroupCommand), and a worker restarted in the group consumes 0
#     records.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/worker_test_control.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-dlq-it.XXXXXX")
trap 'worker_cleanup; rm -rf "$work"' EXIT
started=$(date +%s%N)

events=$(fresh_topic dlq-events)
dlq=$(fresh_topic dlq-dead-letters)
recommendations=$(fresh_topic dlq-recs)
models=$(fresh_topic dlq-models)
changelog=$(fresh_topic dlq-changelog)
group=$(fresh_topic dlq-group)
"$STREAMREC_SOURCE/deploy/kafka/create-topics.sh" --bootstrap "$STREAMREC_BOOTSTRAP" \
  --topics "$events:2,$dlq:2,$recommendations:2,$models:1:compact,$changelog:2:compact"
wait_for_topics "$models" "$dlq" "$recommendations" "$changelog"

# EXPECTED VALUE KEY [HEADERS]: EXPECTED is "ok" or the streamrec.error the
# record must get; the rest is produce_records' SPEC (see produce_records.c).
cat >"$work/partition0.spec" <<'SPEC'
ok               good:1001:11        1001
invalid_value    null                2001
ok               good:1002:12        1002
truncated        empty               2002
ok               good:1003:13        1003
truncated        truncated:2003:14   2003
ok               good:1001:15        1001
bad_magic        bad-magic:2004:16   2004
ok               good:1002:17        1002
unknown_schema_id unknown-schema:2005:18 2005
ok               good:1003:19        1003
bad_union_branch bad-union:2006:20   2006
ok               good:1001:21        1001
bad_enum_symbol  bad-enum:2007:22    2007
ok               good:1002:23        1002
trailing_bytes   trailing:2008:24    2008
ok               good:1003:25        1003
SPEC
cat >"$work/partition1.spec" <<'SPEC'
ok               good:1004:31        1004
invalid_value    long-session:2009:32 2009
ok               good:1005:33        1005
invalid_value    nan-value:2010:34   2010
ok               good:1004:35        1004
bad_varint       bad-varint:2011:36  2011
ok               good:1005:37        1005
bad_length       bad-length:2012:38  2012
ok               good:1006:39        1006
invalid_value    good:2013:40        user-2013
ok               good:1006:41        1006
invalid_value    good:2014:42        -
ok               good:1004:43        1004 trace-id=good-43
truncated        truncated:2015:44   2015 trace-id=t-2015 retry flag=yes trace-id=second
ok               good:1005:45        1005
invalid_value    good:2016:46        2017
truncated        hex:00              2018
SPEC
for p in 0 1; do
  cut -c18- "$work/partition$p.spec" | "$tools/produce_records" --topic "$events" --partition "$p" \
    >"$work/positions$p" || fail "produce_records failed for partition $p"
  paste -d' ' "$work/positions$p" <(awk '{ print $1 }' "$work/partition$p.spec") >>"$work/expected"
done
total=$(wc -l <"$work/expected")
good=$(awk '$3 == "ok"' "$work/expected" | wc -l)
bad=$(( total - good ))
key_mismatches=3
[ "$total" -eq 34 ] || fail "produce_records delivered $total of 34 records"
"$tools/read_dead_letters" --topic "$events" >"$work/source.jsonl" || fail "cannot read back $events"

# ---- the worker, until it has consumed every record ----
worker_args=(--group-id "$group" --topic-events "$events" --topic-dlq "$dlq"
             --topic-recommendations "$recommendations" --topic-models "$models" --commit-interval-ms 200
             --topic-changelog "$changelog")
before_ms=$(( $(date +%s%N) / 1000000 ))
start_worker "$work/worker.log" "${worker_args[@]}"
port=$(worker_port "$work/worker.log") || fail "the worker did not start"
wait_for_metric "$port" streamrec_records_consumed_total "$total" 60 "$WORKER_PID" ||
  { tail -n 20 "$work/worker.log"; fail "the worker did not consume the $total records"; }
sleep 0.5  # anything beyond the records produced would show now
http_get "http://127.0.0.1:$port/metrics" >"$work/metrics.txt"
value() { awk -v n="$1" '$1 == n { print $2 }' "$work/metrics.txt"; }
stop_worker "$WORKER_PID" TERM 10 || fail "no clean stop"
after_ms=$(( $(date +%s%N) / 1000000 ))
[ "$WORKER_STATUS" -eq 0 ] || { tail -n 20 "$work/worker.log"; fail "the worker exited with $WORKER_STATUS"; }
summary=$(grep '"msg":"stopped after ' "$work/worker.log") || fail "no summary line"
echo "$summary"

# ---- counts ----
[ "$(value streamrec_records_consumed_total)" -eq "$total" ] || fail "records consumed: $(value streamrec_records_consumed_total), produced $total"
[ "$(value streamrec_events_total)" -eq "$good" ] || fail "events: $(value streamrec_events_total), good records $good"
[ "$(value streamrec_dlq_records_total)" -eq "$bad" ] || fail "dead letters: $(value streamrec_dlq_records_total), bad records $bad"
[ "$(value streamrec_decode_failures_total)" -eq $(( bad - key_mismatches )) ] ||
  fail "decode failures: $(value streamrec_decode_failures_total), expected $(( bad - key_mismatches ))"
[ "$(value streamrec_invalid_records_total)" -eq "$key_mismatches" ] ||
  fail "invalid records: $(value streamrec_invalid_records_total), expected $key_mismatches"
[ "$(value streamrec_delivery_failures_total)" -eq 0 ] || fail "delivery failures"
grep -q ": $total records, $good events, $bad dead letters, " <<<"$summary" ||
  fail "the summary line disagrees: $summary"

# ---- the dead-letter topic against the event topic ----
"$tools/read_dead_letters" --topic "$dlq" >"$work/dlq.jsonl" || fail "cannot read $dlq"
python3 - "$work/source.jsonl" "$work/expected" "$work/dlq.jsonl" "$events" "$before_ms" "$after_ms" <<'PY' ||
import json, sys
source_file, expected_file, dlq_file, topic, before, after = sys.argv[1:]
source = {(r["partition"], r["offset"]): r for r in map(json.loads, open(source_file))}
expected = {}
for line in open(expected_file):
    p, o, error = line.split()
    expected[(int(p), int(o))] = error
ours = ["streamrec.error", "streamrec.error.message", "streamrec.source.topic",
        "streamrec.source.partition", "streamrec.source.offset", "streamrec.dead.lettered.at"]
problems, seen = [], {}
for line in open(dlq_file):
    d = json.loads(line)
    where = "dead letter %d@%d" % (d["partition"], d["offset"])
    headers = d["headers"]
    if [name for name, _ in headers[-6:]] != ours:
        problems.append("%s: does not end with the six streamrec headers: %s" % (where, headers))
        continue
    own, added = headers[:-6], dict(headers[-6:])
    try:
        at = (int(added["streamrec.source.partition"]), int(added["streamrec.source.offset"]))
    except (TypeError, ValueError):
        problems.append("%s: bad source headers %s" % (where, added))
        continue
    if added["streamrec.source.topic"] != topic:
        problems.append("%s: source topic %s" % (where, added["streamrec.source.topic"]))
    if at not in source or at not in expected:
        problems.append("%s: names source %d@%d, which was never produced" % ((where,) + at))
        continue
    if at in seen:
        problems.append("%s: source %d@%d dead-lettered again" % ((where,) + at))
    seen[at] = added
    want, original = expected[at], source[at]
    if want == "ok":
        problems.append("%s: the good record %d@%d was dead-lettered (%s)" % ((where,) + at + (added["streamrec.error"],)))
        continue
    for field in ("key", "value"):
        if d[field] != original[field]:
            problems.append("%s: %s %r, the original has %r" % (where, field, d[field], original[field]))
    if own != original["headers"]:
        problems.append("%s: own headers %s, the original has %s" % (where, own, original["headers"]))
    if added["streamrec.error"] != want:
        problems.append("%s: streamrec.error %s, expected %s" % (where, added["streamrec.error"], want))
    if not added["streamrec.error.message"]:
        problems.append("%s: empty streamrec.error.message" % where)
    try:
        lettered = int(added["streamrec.dead.lettered.at"])
    except (TypeError, ValueError):
        lettered = -1
    if not int(before) <= lettered <= int(after):
        problems.append("%s: dead.lettered.at %s is not within the worker's run [%s, %s]"
                        % (where, added["streamrec.dead.lettered.at"], before, after))
for at, want in sorted(expected.items()):
    if want != "ok" and at not in seen:
        problems.append("the bad record %d@%d (%s) is not on the dead-letter topic" % (at + (want,)))
for at, added in sorted(seen.items()):
    print("  %d@%-3d %-18s %s" % (at + (added["streamrec.error"], added["streamrec.error.message"])))
for p in problems:
    print("PROBLEM: " + p)
sys.exit(1 if problems else 0)
PY
  fail "the dead-letter topic is not what it should be"

# ---- recommendations: exactly the good users ----
recommended=$(tail_topic "$recommendations" --type recommendation | sed -n 's/.*"user_id":\([0-9]*\),.*/\1/p' | sort -un | tr '\n' ' ')
[ "$recommended" = "1001 1002 1003 1004 1005 1006 " ] || fail "recommendations for users: '$recommended'"

# ---- committed offsets cover every record ----
group_offsets "$group" >"$work/group.txt"
awk -v t="$events" '$1 == t { n++; if ($3 != $4) bad = 1; sum += $3 } END { exit !(n == 2 && !bad && sum == '"$total"') }' \
  "$work/group.txt" || { cat "$work/group.txt"; fail "the committed offsets are not the end offsets"; }
echo "committed: $(awk '{ printf "%s:%s ", $2, $3 }' "$work/group.txt")"
start_worker "$work/worker2.log" "${worker_args[@]}"
port=$(worker_port "$work/worker2.log") || fail "the second worker did not start"
wait_for_metric "$port" streamrec_assigned_partitions 2 30 "$WORKER_PID" || fail "the second worker got no partitions"
sleep 2
again=$(metric "$port" streamrec_records_consumed_total)
stop_worker "$WORKER_PID" TERM 10 || fail "no clean stop of the second worker"
[ "$again" -eq 0 ] || fail "the restarted worker consumed $again records"
grep -q '"msg":"stopped after [0-9.]* s: 0 records, ' "$work/worker2.log" ||
  fail "the restarted worker's summary: $(grep '"msg":"stopped after ' "$work/worker2.log")"
echo "dead letters: ok ($bad bad and $good good records; $(( ($(date +%s%N) - started) / 1000000 )) ms)"
