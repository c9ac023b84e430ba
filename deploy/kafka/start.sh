#!/usr/bin/env bash
# Starts a single-node Apache Kafka broker for integration tests: KRaft mode,
# broker and controller in one JVM, listening on 127.0.0.1 only.
# usage: start.sh [--port N] [--dir DIR] [--topics "name:partitions[:compact],..."]
#   --port    PLAINTEXT port (default 29092: below Linux's ephemeral range,
#             32768-60999, where an outgoing connection's port once took the
#             broker's); the controller uses N+1
#   --dir     data dir (default: $STREAMREC_BROKER_DIR if it holds a broker,
#             else a new mktemp dir); an existing dir is restarted on its data
#   --topics  topics to create if missing (see create-topics.sh)
# Prints STREAMREC_BOOTSTRAP=... and STREAMREC_BROKER_DIR=... (also in DIR/env);
# running it again while that broker runs only (re)checks the topics.
# STREAMREC_BROKER_VERSION=V sets up a new dir with Kafka V (default: pom.xml's;
# see fetch.sh); an existing dir restarts with the version it was set up with.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

t0=$(date +%s%N)
usage="usage: start.sh [--port N] [--dir DIR] [--topics \"name:partitions[:compact],...\"]"
port='' dir='' topics=''
while [ $# -gt 0 ]; do
  case $1 in
    --port|--dir|--topics) [ $# -ge 2 ] || die "$1 needs a value; $usage" ;;&
    --port) port=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --topics) topics=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument '$1'; $usage" ;;
  esac
done
[[ -z $port || ($port =~ ^[0-9]+$ && $port -ge 1024 && $port -le 65534) ]] ||
  die "--port must be a number in 1024..65534"
"$KAFKA_SCRIPTS/create-topics.sh" --check --topics "$topics"   # fail before starting

write_config() {
  cat >"$dir/server.properties" <<PROPS
# Written by deploy/kafka/start.sh: single-node KRaft broker for tests.
# kafka.version=$KAFKA_VERSION
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$((port + 1))
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$((port + 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$port
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
# One broker: every internal topic gets one replica, and one partition instead
# of 50, so the first consumer group or transaction does not wait for 50
# partitions to be created.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Start the first rebalance of a group at once instead of after 3 s.
group.initial.rebalance.delay.ms=0
# After a crash (stop.sh --kill) the restarted broker cannot register until the
# old registration's session expires: 3 s instead of the default 9 s.
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
PROPS
}

# broker_on_port PORT: prints the dir of a running start.sh broker on PORT.
broker_on_port() {
  local c args d
  for c in /proc/[0-9]*/cmdline; do
    args=$(tr '\0' ' ' 2>/dev/null <"$c") || continue
    [[ $args =~ \ kafka\.Kafka\ (/.*)/server\.properties\ $ ]] || continue
    d=${BASH_REMATCH[1]}
    if [ "$(broker_port "$d" 2>/dev/null)" = "$1" ] && broker_pid "$d" >/dev/null; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

# No dir given: the one from a previous eval of start.sh's output, else the
# broker already running on the port, else a new one.
made_dir=''
if [ -z "$dir" ] && [ -f "${STREAMREC_BROKER_DIR:-/nonexistent}/server.properties" ] &&
   [[ -z $port || $(broker_port "$STREAMREC_BROKER_DIR") == "$port" ]]; then
  dir=$STREAMREC_BROKER_DIR
fi
if [ -z "$dir" ] && port_in_use "${port:-29092}" && dir=$(broker_on_port "${port:-29092}"); then
  echo "start.sh: using the broker already running in $dir" >&2
fi
if [ -z "$dir" ]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-kafka.XXXXXX")
  made_dir=1
fi
[ -d "$dir" ] || made_dir=1   # removed again if start.sh fails before using it
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)   # broker_pid matches the absolute path

fresh=''
if [ -f "$dir/server.properties" ]; then
  old_port=$(broker_port "$dir")
  [ -n "$old_port" ] || die "$dir/server.properties was not written by start.sh"
  kafka_use_dir_version "$dir"
  [ -z "$port" ] || [ "$port" = "$old_port" ] ||
    die "$dir was set up for port $old_port, not $port"
  port=$old_port
else
  [ -z "$(ls -A "$dir")" ] || die "$dir is not empty and holds no broker from start.sh"
  port=${port:-29092}
  fresh=1
fi
bootstrap=127.0.0.1:$port
log=$dir/broker.log

launched=''
log_start=$(stat -c %s "$log" 2>/dev/null || echo 0)   # the log is kept across restarts
fail() {
  echo "start.sh: $* (dir $dir)" >&2
  if [ -f "$log" ]; then
    echo "--- last lines of $log:" >&2
    tail -c +$((log_start + 1)) "$log" | tail -n 50 >&2
  fi
  exit 1
}
# On failure or interrupt: leave no broker behind, nor an unused empty dir.
cleanup() {
  [ -z "$launched" ] || { kill -KILL "$launched"; rm -f "$dir/broker.pid"; } 2>/dev/null || true
  [ -z "$made_dir" ] || rmdir "$dir" 2>/dev/null || true
}
trap cleanup EXIT

if pid=$(broker_pid "$dir"); then
  echo "start.sh: broker already running in $dir (pid $pid)" >&2
else
  for p in "$port" "$((port + 1))"; do
    port_in_use "$p" || continue
    # (a broker's controller port is its PLAINTEXT port + 1)
    if other=$(broker_on_port "$p" || broker_on_port "$((p - 1))"); then
      die "port $p is used by the test broker in $other; stop it (stop.sh --dir $other) or choose another --port"
    fi
    die "port $p on 127.0.0.1 is in use by another process; choose another --port"
  done
  "$KAFKA_SCRIPTS/fetch.sh" >/dev/null
  [ -z "$fresh" ] || write_config

  if [ ! -f "$dir/data/meta.properties" ]; then
    # A cluster id is 16 random bytes in URL-safe base64; made here to save a
    # JVM start. A leading '-' would read as an option, so avoid it.
    id=-
    while [[ $id == -* ]]; do
      id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    done
    kafka_tool kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" \
      >>"$log" 2>&1 || fail "formatting the storage failed"
  fi

  # stop.sh files the broker's archive under the default version's cache: other
  # versions run without one.
  broker_jsa=''
  [ "$KAFKA_VERSION" != "$(kafka_default_version)" ] || broker_jsa=$dir/broker.jsa
  kafka_java_cmd kafka.Kafka "$broker_jsa"
  # setsid: the broker outlives this script and the caller's session; it is not
  # a process group leader here, so setsid execs in place and $! is the JVM.
  (cd "$dir" && exec setsid "${JAVA_CMD[@]}" -Xms256m -Xmx1g -XX:+ExitOnOutOfMemoryError \
      -Dstreamrec.log.level=INFO kafka.Kafka "$dir/server.properties") \
    </dev/null >>"$log" 2>&1 &
  launched=$!
  echo "$launched" >"$dir/broker.pid"

  deadline=$((SECONDS + ${STREAMREC_KAFKA_START_TIMEOUT:-60}))
  until kafka_ping "$port"; do
    broker_pid "$dir" >/dev/null || fail "the broker exited during start-up"
    [ $SECONDS -lt $deadline ] || fail "the broker did not answer on $bootstrap in time"
    sleep 0.1
  done
  ms=$((($(date +%s%N) - t0) / 1000000))
  echo "start.sh: Kafka $KAFKA_VERSION answers on $bootstrap after $((ms / 1000)).$(printf %03d $((ms % 1000))) s" >&2
fi

if [ -n "$topics" ]; then
  "$KAFKA_SCRIPTS/create-topics.sh" --bootstrap "$bootstrap" --topics "$topics" ||
    fail "creating the topics failed"
fi

env_lines=$(printf 'STREAMREC_BOOTSTRAP=%s\nSTREAMREC_BROKER_DIR=%q' "$bootstrap" "$dir")
echo "$env_lines" >"$dir/env"
echo "$env_lines"
launched='' made_dir=''   # success: keep the broker and its dir
