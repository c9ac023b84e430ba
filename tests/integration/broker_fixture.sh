#!/usr/bin/env bash
# The real Kafka broker around the integration tests (CTest fixture "broker").
#
#   broker_fixture.sh start STATE_DIR          start a KRaft broker, data in a temp dir
#   broker_fixture.sh run STATE_DIR SCRIPT     run one test script against it
#   broker_fixture.sh stop STATE_DIR           stop it; its log stays in STATE_DIR
#
# When STREAMREC_BOOTSTRAP is already set, the tests use that broker and this
# script starts and stops nothing. The broker's log is printed when a test fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
action=$1 state=$2
mkdir -p "$state"

external() { [ -n "${STREAMREC_BOOTSTRAP:-}" ] && [ ! -f "$state/started" ]; }

case "$action" in
start)
  if external; then
    echo "using the broker at STREAMREC_BOOTSTRAP=$STREAMREC_BOOTSTRAP"
    exit 0
  fi
  # A run killed before "stop" leaves its broker (holding the port) and state
  # file behind: stop that broker first, or this start fails.
  if [ -f "$state/started" ]; then
    stale=$(cat "$state/started")
    echo "stopping a stale broker from an earlier run in $stale"
    if [ -d "$stale" ]; then "$repo/deploy/kafka/stop.sh" --dir "$stale" --purge || true; fi
    rm -f "$state/started"
  fi
  data=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-kafka.XXXXXX")
  started=$(date +%s%N)
  "$repo/deploy/kafka/start.sh" --dir "$data" --port "${STREAMREC_TEST_KAFKA_PORT:-29092}" \
    --topics "user-events:4,user-events-dlq:4,user-recommendations:4,worker-state-changelog:4:compact,model-updates:1:compact"
  echo "broker answered $(( ($(date +%s%N) - started) / 1000000 )) ms after start.sh began"
  echo "$data" > "$state/started"
  ;;
run)
  script=$3
  if ! external; then
    data=$(cat "$state/started")
    # shellcheck disable=SC1091
    . "$data/env"
    export STREAMREC_BOOTSTRAP STREAMREC_BROKER_DIR
  fi
  if ! "$STREAMREC_BUILD/tests/broker_ping"; then
    exit 1
  fi
  if ! bash "$script"; then
    if [ -n "${STREAMREC_BROKER_DIR:-}" ] && [ -f "$STREAMREC_BROKER_DIR/broker.log" ]; then
      echo "---- last 80 lines of the broker's log ($STREAMREC_BROKER_DIR/broker.log) ----"
      tail -n 80 "$STREAMREC_BROKER_DIR/broker.log"
    fi
    exit 1
  fi
  ;;
stop)
  if external; then exit 0; fi
  data=$(cat "$state/started")
  "$repo/deploy/kafka/stop.sh" --dir "$data" || true
  cp "$data/broker.log" "$state/broker.log" 2>/dev/null || true
  rm -rf "$data" "$state/started"
  echo "broker stopped; its log is in $state/broker.log"
  ;;
*)
  echo "usage: broker_fixture.sh start|run|stop STATE_DIR [SCRIPT]" >&2
  exit 2
  ;;
esac
