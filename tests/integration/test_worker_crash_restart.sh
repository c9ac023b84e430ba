#!/usr/bin/env bash
# `streamrec worker` killed with SIGKILL and restarted loses no event.
#
# A synthetic stream (100,000 events, 5,000 users) is replayed at 25,000
# events/s into a fresh 4-partition topic while a worker consumes it (static
# membership, the way a pod restarts under the same name; commit every 200 ms;
# 256 records per poll; every user scored after each event, top 1, so that
# each event leads to a list in the same iteration, before the next commit).
# After the worker consumed 30,000 records it is killed with SIGKILL, and a
# second worker, same group and instance id, takes over and processes the rest.
#
# What can be seen from outside, and is checked:
#   C1[p]  the group's committed offsets right after the kill (Kafka's
#          ConsumerGroupCommand, before the restart): where run 2 must start.
#          Run 2's own log (librdkafka's cgrp debug lines) must say it fetched
#          exactly these offsets.
#   M1[p]  the highest source offset of partition p among the lists that run 1
#          delivered (generated before the restart): run 1 demonstrably
#          processed every event of p up to M1[p] (a partition is processed
#          in order).
#   R2     run 2's summary: it consumed exactly sum(end - C1) records, i.e.
#          from C1 to the end, once each; its lists all have source offsets
#          >= C1.
# Checks:
#   - no event skipped: C1[p] <= M1[p] + 1 for every partition — the restart
#     point is at or before what run 1 processed and delivered; the
#     difference, summed, is the number of events processed by both runs
#     (duplicates, reported; at least, since run 1 may have processed more
#     whose lists died with it);
#   - every committed event's output was delivered before the commit: for each
#     event below C1 of its partition, run 1 delivered a list of that user with
#     a source offset at or after it;
#   - every user has a list whose source is its last event (in particular
#     every user whose last event came after the restart point);
#   - the events counted by the two runs cover the stream: max(run 1's
#     streamrec_events_total before the kill, sum(M1 + 1)) plus run 2's events
#     >= 100,000 (run 1's counter alone can lag the commits: a commit can land
#     between the scrape and the kill);
#   - at the end the committed offsets are the end offsets.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/worker_test_control.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-crash-it.XXXXXX")
replay_pid=''
trap 'worker_cleanup; if [ -n "$replay_pid" ]; then kill "$replay_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
started=$(date +%s%N)
n=100000 kill_after=30000

events=$(fresh_topic crash-events)
recommendations=$(fresh_topic crash-recs)
dlq=$(fresh_topic crash-dlq)
models=$(fresh_topic crash-models)
group=$(fresh_topic crash-group)
"$STREAMREC_SOURCE/deploy/kafka/create-topics.sh" --bootstrap "$STREAMREC_BOOTSTRAP" \
  --topics "$events:4,$recommendations:4,$dlq:1,$models:1:compact"
wait_for_topics "$models" "$events" "$recommendations" "$dlq"
worker_args=(--group-id "$group" --group-instance-id crash-test-worker-0
             --topic-events "$events" --topic-recommendations "$recommendations" --topic-dlq "$dlq"
             --topic-models "$models" --commit-interval-ms 200 --poll-batch 256
             --processing-guarantee at_least_once
             --score-after-events 1 --score-min-interval-ms 0 --score-topn 1)

# ---- run 1, killed while it processes the live stream ----
start_worker "$work/run1.log" "${worker_args[@]}"
run1=$WORKER_PID
port=$(worker_port "$work/run1.log") || fail "run 1 did not start"
wait_for_metric "$port" streamrec_assigned_partitions 4 30 "$run1" || fail "run 1 got no partitions"
"$STREAMREC_BIN" replay --format synthetic --users 5000 --events "$n" --seed 11 --rate 25000 \
  --topic "$events" --no-progress --summary-json >"$work/replay.json" 2>"$work/replay.log" &
replay_pid=$!
deadline=$(( $(date +%s) + 60 ))
while :; do
  http_get "http://127.0.0.1:$port/metrics" >"$work/run1-metrics.txt"
  consumed=$(awk '$1 == "streamrec_records_consumed_total" { print $2 }' "$work/run1-metrics.txt")
  [ "${consumed:-0}" -ge "$kill_after" ] && break
  kill -0 "$run1" 2>/dev/null || { tail -n 20 "$work/run1.log"; fail "run 1 exited by itself"; }
  [ "$(date +%s)" -le "$deadline" ] || fail "run 1 consumed only ${consumed:-0} records in 60 s"
  sleep 0.05
done
kill -KILL "$run1"
wait "$run1" 2>/dev/null || true
restart_ms=$(( $(date +%s%N) / 1000000 ))
e1_scraped=$(awk '$1 == "streamrec_events_total" { print $2 }' "$work/run1-metrics.txt")
[ "$e1_scraped" -lt "$n" ] || fail "run 1 had processed all $n events before the kill"
echo "run 1 killed after consuming $consumed records (events counter $e1_scraped)"

# ---- the restart point, then run 2 ----
group_offsets "$group" | awk -v t="$events" '$1 == t { print $2, ($3 == "-" ? 0 : $3) }' >"$work/c1"
[ "$(wc -l <"$work/c1")" -eq 4 ] || { cat "$work/c1"; fail "no committed offsets for 4 partitions after the kill"; }
c1_sum=$(awk '{ s += $2 } END { print s }' "$work/c1")
echo "committed at the kill (C1): $(tr '\n' ' ' <"$work/c1")(sum $c1_sum)"
[ "$c1_sum" -gt 0 ] && [ "$c1_sum" -lt "$n" ] || fail "run 1 committed $c1_sum records: not mid-stream"

start_worker "$work/run2.log" "${worker_args[@]}" --log-level debug --set kafka.consumer.debug=cgrp
run2=$WORKER_PID
port=$(worker_port "$work/run2.log") || fail "run 2 did not start"
status=0
wait "$replay_pid" || status=$?
replay_pid=''
[ "$status" -eq 0 ] || { cat "$work/replay.log"; fail "the replay failed"; }
grep -q "\"delivered\":$n," "$work/replay.json" || fail "the replay delivered: $(cat "$work/replay.json")"
wait_for_metric "$port" streamrec_records_consumed_total $(( n - c1_sum )) 60 "$run2" ||
  { grep -v '"level":"debug"' "$work/run2.log" | tail -n 20; fail "run 2 did not consume the rest"; }
# Until the committed offsets reach the end (checked after the topics, below).
for _ in 1 2 3 4 5; do
  group_offsets "$group" | awk -v t="$events" '$1 == t' >"$work/final-offsets"
  awk '$3 != $4 { bad = 1 } { n++ } END { exit bad || n != 4 }' "$work/final-offsets" && break
  sleep 1
done
e2_scraped=$(metric "$port" streamrec_events_total)
stop_worker "$run2" TERM 10 || fail "run 2 did not stop"
[ "$WORKER_STATUS" -eq 0 ] || { tail -n 20 "$work/run2.log"; fail "run 2 exited with $WORKER_STATUS"; }
summary=$(grep '"msg":"stopped after ' "$work/run2.log") || fail "run 2 has no summary line"
echo "$summary"
r2=$(sed -n 's/.*: \([0-9]*\) records, .*/\1/p' <<<"$summary")
e2=$(sed -n 's/.* records, \([0-9]*\) events, .*/\1/p' <<<"$summary")
[ "$r2" -eq $(( n - c1_sum )) ] && [ "$e2" -eq "$r2" ] && [ "$e2_scraped" -eq "$e2" ] ||
  fail "run 2 consumed $r2 records ($e2 events, $e2_scraped on /metrics); from the committed offsets to the end there are $(( n - c1_sum ))"
# Where run 2's consumer says it started, from its own log.
sed -n "s/.*OFFSETFETCH: .*Adding $events \[\([0-9]*\)\] back to pending list with offset \([0-9A-Z-]*\).*/\1 \2/p" \
  "$work/run2.log" | sort -n | awk '{ print $1, ($2 ~ /^[0-9]+$/ ? $2 : 0) }' >"$work/c1-logged"
[ -s "$work/c1-logged" ] || fail "no 'OFFSETFETCH: ... Adding $events [P] back to pending list with offset N' lines \
in run 2's debug log (has librdkafka's wording changed?)"
diff "$work/c1" "$work/c1-logged" >/dev/null ||
  { echo "group: $(tr '\n' ' ' <"$work/c1"); log: $(tr '\n' ' ' <"$work/c1-logged")"; fail "run 2 did not start at the committed offsets"; }

# ---- what the topics say ----
"$tools/read_dead_letters" --topic "$events" >"$work/events.jsonl" || fail "cannot read $events"
tail_topic "$recommendations" --type recommendation >"$work/recs.jsonl"
python3 - "$work/events.jsonl" "$work/recs.jsonl" "$work/c1" "$restart_ms" "$e1_scraped" "$e2" "$n" <<'PY' ||
import json, sys
events_file, recs_file, c1_file, restart_ms, e1_scraped, e2, n = sys.argv[1:]
restart_ms, e1_scraped, e2, n = int(restart_ms), int(e1_scraped), int(e2), int(n)
c1 = {int(p): int(o) for p, o in (line.split() for line in open(c1_file))}
problems = []
partition_of, last_event, last_committed = {}, {}, {}
count = 0
for line in open(events_file):
    r = json.loads(line)
    user, p, o = int(r["key"]), r["partition"], r["offset"]
    count += 1
    if partition_of.setdefault(user, p) != p:
        problems.append("user %d is on partitions %d and %d" % (user, partition_of[user], p))
    last_event[user] = max(last_event.get(user, -1), o)
    if o < c1[p]:
        last_committed[user] = max(last_committed.get(user, -1), o)
if count != n:
    problems.append("the event topic holds %d records, not %d" % (count, n))
m1 = {p: -1 for p in c1}
run1_latest, sources = {}, {}
run2_lists = repeated = 0
for line in open(recs_file):
    r = json.loads(line)
    user, p, o = r["user_id"], r["source_partition"], r["source_offset"]
    sources.setdefault(user, set()).add((p, o))
    if partition_of.get(user) != p:
        problems.append("a list of user %d names partition %d" % (user, p))
        continue
    if r["generated_at"] < restart_ms:
        m1[p] = max(m1[p], o)
        run1_latest[user] = max(run1_latest.get(user, -1), o)
    else:
        run2_lists += 1
        if o < c1[p]:
            problems.append("run 2 published a list from offset %d of partition %d, before its start %d"
                            % (o, p, c1[p]))
for user, o in run1_latest.items():
    if o >= c1[partition_of[user]]:
        repeated += 1
duplicates = 0
for p in sorted(c1):
    if c1[p] > m1[p] + 1:
        problems.append("partition %d: committed %d, but run 1 delivered lists only up to offset %d: "
                        "events %d..%d were skipped" % (p, c1[p], m1[p], m1[p] + 1, c1[p] - 1))
    duplicates += max(0, m1[p] + 1 - c1[p])
    print("  partition %d: restart at %d, run 1 processed at least up to %d: %d events again"
          % (p, c1[p], m1[p], max(0, m1[p] + 1 - c1[p])))
uncovered = [u for u, o in last_committed.items() if run1_latest.get(u, -1) < o]
if uncovered:
    problems.append("%d users had committed events without a list from run 1 covering them, e.g. user %d "
                    "(last committed event at %d, run 1's last list from %d)"
                    % (len(uncovered), uncovered[0], last_committed[uncovered[0]], run1_latest.get(uncovered[0], -1)))
missing = [u for u, o in last_event.items() if (partition_of[u], o) not in sources.get(u, ())]
late = [u for u, o in last_event.items() if o >= c1[partition_of[u]]]
late_missing = [u for u in missing if u in set(late)]
if missing:
    problems.append("%d users (%d of them with their last event after the restart point) have no list from "
                    "their last event, e.g. user %d" % (len(missing), len(late_missing), missing[0]))
e1 = max(e1_scraped, sum(m1[p] + 1 for p in m1))
if e1 + e2 < n:
    problems.append("the runs counted %d + %d events, fewer than the %d in the stream" % (e1, e2, n))
print("users %d, of them %d with their last event after the restart point; lists: run 2 published %d, "
      "%d users had a list from run 1 at or after the restart point" % (len(last_event), len(late), run2_lists, repeated))
print("events counted: run 1 >= %d (scraped %d), run 2 %d, stream %d; duplicates (processed by both runs): "
      "at least %d by the lists, %d by the counters" % (e1, e1_scraped, e2, n, duplicates, e1_scraped + e2 - n))
for p in problems:
    print("PROBLEM: " + p)
sys.exit(1 if problems else 0)
PY
  fail "events were lost across the kill"
awk '$3 != $4 { bad = 1 } { n++; s += $4 } END { exit bad || n != 4 || s != '"$n"' }' "$work/final-offsets" ||
  { cat "$work/final-offsets"; fail "the committed offsets are not the end offsets"; }
echo "crash and restart: ok ($(( ($(date +%s%N) - started) / 1000000 )) ms)"
