#!/usr/bin/env bash
# Exactly-once chaos (chaos_harness.sh): 3 workers, one of them at random
# killed with SIGKILL and restarted at once every 2.5 s while 200,000 events
# arrive over ~15 s; then the workers stop and the verifiers run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/chaos_harness.sh"

chaos_setup
for i in 0 1 2; do start_one "$i"; done
start_stream 13000
kills=0
while stream_running; do
  sleep 2.5
  i=$(( RANDOM % 3 ))
  kill -KILL "${pids[$i]}" 2>/dev/null || true
  wait "${pids[$i]}" 2>/dev/null || true
  start_one "$i"
  kills=$((kills + 1))
done
finish_stream
echo "stream in; $kills workers killed and restarted"
wait_committed "$group" 180
for i in 0 1 2; do stop_one "$i"; done
chaos_verify kills "\"kills\":$kills,"
echo "PASS"
