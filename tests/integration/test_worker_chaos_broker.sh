#!/usr/bin/env bash
# Exactly-once chaos (chaos_harness.sh): the broker is killed (SIGKILL) and
# restarted on its data while 3 workers process 200,000 events. A worker that
# exits meanwhile (a fatal error: an orchestrator would restart it) is
# restarted by this script, as Kubernetes would.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/chaos_harness.sh"
: "${STREAMREC_BROKER_DIR:?this test restarts the broker that broker_fixture.sh started}"

chaos_setup
for i in 0 1 2; do start_one "$i"; done
start_stream 13000
sleep 5
kill_broker_and_restart
echo "broker killed and restarted"
while stream_running; do supervise; sleep 1; done
finish_stream
wait_committed_supervised "$group" 180
for i in 0 1 2; do stop_one "$i"; done
chaos_verify broker "\"broker_restarts\":1,\"worker_restarts\":$restarts,"
echo "PASS"
