#!/usr/bin/env bash
# A rolling restart with static membership (chaos_harness.sh): 3 exactly-once
# workers, each a static member (group.instance.id chaos-I, as a pod name
# would be), are stopped (SIGTERM) and started again one after the other
# while 200,000 events arrive, the way a Deployment or StatefulSet rolls.
# Checks:
#   - no rebalance: the broker stabilises the group at no new generation
#     during the roll (its log), and the workers not restarting see no
#     revocation (each worker's log shows exactly one revocation, its own
#     stop, and one assignment, its own start, during the roll);
#   - each restarted worker restores its users from the changelog and goes on;
#   - the chaos verifiers: every user's state exact and equal to an
#     uninterrupted worker's, no list twice, every bad record dead-lettered.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/chaos_harness.sh"
: "${STREAMREC_BROKER_DIR:?the broker's log tells the group's generations}"

generations() {  # the "Stabilized group G generation N" lines of the broker so far
  grep -c "Stabilized group $group generation" "$STREAMREC_BROKER_DIR/broker.log" || true
}
count() { grep -c "$1" "$2" || true; }

# settled: each worker's latest assignment is 2 of the 6 partitions.
settled() {
  local i
  for i in 0 1 2; do
    grep '"msg":"assigned' "$work/w$i.log" | tail -n 1 | grep -q 'assigned 2 partitions' || return 1
  done
}

chaos_setup
for i in 0 1 2; do start_one "$i"; done
deadline=$(( $(date +%s) + 60 ))
until settled; do
  [ "$(date +%s)" -le "$deadline" ] || fail "the 3 workers did not settle on 2 partitions each within 60 s"
  sleep 0.5
done
start_stream 13000
sleep 3
before=$(generations)
declare -A revokes assigns
for i in 0 1 2; do
  revokes[$i]=$(count '"msg":"revoking' "$work/w$i.log")
  assigns[$i]=$(count '"msg":"assigned' "$work/w$i.log")
done
for i in 0 1 2; do
  restored=$(count '"msg":"restored ' "$work/w$i.log")
  stop_one "$i"
  start_one "$i"
  deadline=$(( $(date +%s) + 30 ))
  until [ "$(count '"msg":"restored ' "$work/w$i.log")" -gt "$restored" ]; do
    [ "$(date +%s)" -le "$deadline" ] || fail "worker $i did not get its partitions back within 30 s"
    sleep 0.2
  done
  echo "worker $i restarted: $(grep -o '"msg":"restored [0-9]* user states[^"]*in [0-9.]* s' "$work/w$i.log" | tail -n 1 | cut -c8-)"
  sleep 1
done
after=$(generations)
[ "$after" -eq "$before" ] ||
  fail "the group rebalanced during the roll: $((after - before)) new generations"
for i in 0 1 2; do
  r=$(( $(count '"msg":"revoking' "$work/w$i.log") - revokes[$i] ))
  a=$(( $(count '"msg":"assigned' "$work/w$i.log") - assigns[$i] ))
  [ "$r" -eq 1 ] && [ "$a" -eq 1 ] ||
    fail "worker $i saw $r revocations and $a assignments during the roll (1 and 1: its own restart)"
done
echo "rolling restart of 3 static members: no new group generation ($before before, $after after), no revocation but each worker's own"
finish_stream
wait_committed "$group" 180
for i in 0 1 2; do stop_one "$i"; done
chaos_verify rolling_restart "\"restarts\":3,\"new_generations\":$((after - before)),"
echo "PASS"
