#!/usr/bin/env bash
# Exactly-once chaos (chaos_harness.sh): a worker frozen (SIGSTOP) past its
# group session timeout (6 s here) while 200,000 events arrive, then thawed.
# Its commit meets an unknown member (aborted, recovered in place), its
# partitions come back as lost (the open transaction is aborted: another
# member could own them) and are assigned again (its users restored), with
# the same checks as the other scenarios.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/chaos_harness.sh"

chaos_setup
start_one 0 -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000
start_stream 13000
sleep 4
kill -STOP "${pids[0]}"
sleep 10
kill -CONT "${pids[0]}"
echo "worker frozen for 10 s, past its 6 s session"
finish_stream
wait_committed "$group" 180
lost=$(grep -c 'partitions lost' "$work/w0.log" || true)
[ "$lost" -ge 1 ] || fail "the worker never saw its partitions lost"
stop_one 0
chaos_verify session "\"sessions_expired\":$lost,"
echo "PASS"
