#!/usr/bin/env bash
# Exactly-once chaos (chaos_harness.sh): scaling 1 -> 3 -> 1 workers while
# 200,000 events arrive over ~15 s. Each change is a rebalance (eager
# range,roundrobin, correct on librdkafka 2.0.2): revoked partitions commit
# their transaction, and a partition's new owner restores its users from the
# changelog before processing it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/chaos_harness.sh"

chaos_setup
start_one 0
start_stream 13000
sleep 5
start_one 1
start_one 2
sleep 5
stop_one 1
stop_one 2
finish_stream
wait_committed "$group" 180
rebalances=$(cat "$work"/w*.log | grep -c '"msg":"assigned ' || true)
echo "stream in; $rebalances assignments"
stop_one 0
chaos_verify scale "\"assignments\":$rebalances,"
echo "PASS"
