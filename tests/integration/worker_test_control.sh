# Shared by test_worker_dead_letters.sh, test_worker_crash_restart.sh and
# test_worker_lifecycle.sh (sourced after lib.sh, not run):
# `streamrec worker` in the background, watched from the outside through its
# log, its /metrics and the broker's view of its consumer group.
#
#   start_worker LOG ARGS...   starts a worker (--http-port 0 and ARGS); its JSON
#                              log goes to LOG; sets WORKER_PID
#   worker_port LOG [PID]      waits for "serving /healthz ... on port N"; prints N
#                              (fails at once if PID, default WORKER_PID, exits)
#   http_get URL               prints the body
#   http_status URL            prints the status code (000: no answer)
#   metric PORT NAME           prints the value of a metric without labels
#   wait_for_metric PORT NAME VALUE SEC [PID]   until NAME >= VALUE
#   stop_worker PID SIGNAL SEC sends SIGNAL, waits up to SEC s; sets WORKER_STATUS
#                              and WORKER_STOP_MS; fails if it still runs
#   wait_for_topics TOPIC...   until the broker knows each new topic
#   group_describe GROUP       Kafka's own ConsumerGroupCommand --describe, as it
#                              prints it (with "Consumer group 'G' has no active
#                              members." when that is so)
#   group_offsets [GROUP]      "TOPIC PARTITION COMMITTED END" per partition, from
#                              group_describe's output (stdin when no GROUP);
#                              COMMITTED is "-" where nothing was committed
#
# The caller sets work (a scratch folder) and calls worker_cleanup from its EXIT
# trap: it kills every worker started here that still runs.
worker_pids=()
worker_cleanup() {
  local pid
  for pid in "${worker_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
}

fail() { echo "FAIL: $*"; exit 1; }

start_worker() {  # start_worker LOG ARGS...
  local log=$1
  shift
  "$STREAMREC_BIN" worker --http-port 0 "$@" >"$log.out" 2>"$log" &
  WORKER_PID=$!
  worker_pids+=("$WORKER_PID")
}

worker_port() {  # worker_port LOG [PID]
  local deadline=$(( $(date +%s) + 30 )) port pid=${2:-$WORKER_PID}
  while [ "$(date +%s)" -le "$deadline" ]; do
    port=$(sed -n 's/.*"msg":"serving \/healthz.* on port \([0-9][0-9]*\)".*/\1/p' "$1" | head -n 1)
    if [ -n "$port" ]; then echo "$port"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "the worker exited before serving HTTP:" >&2; tail -n 20 "$1" >&2; return 1
    fi
    sleep 0.1
  done
  echo "no 'serving /healthz ... on port N' line in $1 within 30 s" >&2
  tail -n 20 "$1" >&2
  return 1
}

# http_request URL: prints the status code (000: no answer), then the body.
http_request() {
  if command -v curl >/dev/null; then
    curl -s -m 5 -o "$work/http.body.$BASHPID" -w '%{http_code}\n' "$1" || true
    cat "$work/http.body.$BASHPID" 2>/dev/null
    rm -f "$work/http.body.$BASHPID"
  else
    python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        code, body = r.status, r.read().decode()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read().decode()
except Exception:
    code, body = 0, ""
sys.stdout.write("%03d\n%s" % (code, body))
PY
  fi
}
http_get() { http_request "$1" | tail -n +2; }
http_status() { http_request "$1" | head -n 1; }

metric() {  # metric PORT NAME
  local value
  value=$(http_get "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n { print $2 }')
  [ -n "$value" ] || { echo "no metric $2 on port $1" >&2; return 1; }
  echo "$value"
}

wait_for_metric() {  # wait_for_metric PORT NAME VALUE SEC [PID]
  local deadline=$(( $(date +%s) + $4 )) value=''
  while [ "$(date +%s)" -le "$deadline" ]; do
    value=$(metric "$1" "$2" 2>/dev/null) || value=''
    if [ -n "$value" ] && awk -v a="$value" -v b="$3" 'BEGIN { exit !(a >= b) }'; then return 0; fi
    if [ -n "${5:-}" ] && ! kill -0 "$5" 2>/dev/null; then
      echo "the worker exited while waiting for $2 >= $3" >&2; return 1
    fi
    sleep 0.1
  done
  echo "$2 is '${value}', not >= $3 after $4 s" >&2
  return 1
}

stop_worker() {  # stop_worker PID SIGNAL SEC
  local started deadline
  started=$(date +%s%N)
  deadline=$(( started / 1000000 + $3 * 1000 ))
  kill "-$2" "$1"
  while kill -0 "$1" 2>/dev/null && [ "$(( $(date +%s%N) / 1000000 ))" -le "$deadline" ]; do sleep 0.05; done
  if kill -0 "$1" 2>/dev/null; then echo "the worker still runs $3 s after SIG$2" >&2; return 1; fi
  WORKER_STATUS=0
  wait "$1" || WORKER_STATUS=$?
  WORKER_STOP_MS=$(( ($(date +%s%N) - started) / 1000000 ))
}

# wait_for_topics TOPIC...: until the broker's metadata has each (new) topic.
# A worker started on a model topic created a moment before can find it
# unknown, and that is fatal at its start ("model topic '...': Unknown topic or
# partition", exit 1): a start-up race this works around, not what is tested.
wait_for_topics() {
  local topic
  for topic in "$@"; do
    "$tools/read_dead_letters" --topic "$topic" >/dev/null || fail "topic $topic did not appear"
  done
}

group_describe() {  # group_describe GROUP
  "$STREAMREC_SOURCE/deploy/kafka/kafka-tool.sh" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
    --bootstrap-server "$STREAMREC_BOOTSTRAP" --describe --group "$1" 2>&1
}

group_offsets() {  # group_offsets [GROUP]
  if [ $# -gt 0 ]; then group_describe "$1"; else cat; fi |
    awk '$3 ~ /^[0-9]+$/ && $5 ~ /^[0-9]+$/ { print $2, $3, $4, $5 }' | sort -k2,2n
}
