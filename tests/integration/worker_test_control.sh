# Shared by test_worker_dead_letters.sh, test_worker_crash_restart.sh and
# test_worker_lifecycle.sh (sourced after lib.sh, not run):
# `streamrec worker` in the background, watched from the outside through its
# log, its /metrics and the broker's view of its consumer group.
#
#   start_worker LOG ARGS...   starts a worker (--http-port 0 and ARGS); its JSON
#                              log goes to LOG; sets WORKER_PID
#   worker_port LOG            waits for "serving /healthz ... on port N"; prints N
#   http_get URL               prints the body; sets HTTP_STATUS (000: no answer)
#   metric PORT NAME           prints the value of a metric without labels
#   wait_for_metric PORT NAME VALUE SEC [PID]   until NAME >= VALUE
#   stop_worker PID SIGNAL SEC sends SIGNAL, waits up to SEC s; sets WORKER_STATUS
#                              and WORKER_STOP_MS; fails if it still runs
#   group_offsets GROUP        "TOPIC PARTITION COMMITTED END" per partition, from
#                              Kafka's own ConsumerGroupCommand
#
# Every worker started here is killed when the script exits, whatever happens.
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

worker_port() {  # worker_port LOG
  local deadline=$(( $(date +%s) + 30 )) port
  while [ "$(date +%s)" -le "$deadline" ]; do
    port=$(sed -n 's/.*"msg":"serving \/healthz.* on port \([0-9][0-9]*\)".*/\1/p' "$1" | head -n 1)
    if [ -n "$port" ]; then echo "$port"; return 0; fi
    sleep 0.1
  done
  echo "no 'serving /healthz ... on port N' line in $1 within 30 s" >&2
  tail -n 20 "$1" >&2
  return 1
}

http_get() {  # http_get URL
  local out
  if command -v curl >/dev/null; then
    out=$(curl -s -m 5 -w '\n%{http_code}' "$1") || true
  else
    out=$(python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        body, code = r.read().decode(), r.status
except urllib.error.HTTPError as e:
    body, code = e.read().decode(), e.code
except Exception:
    body, code = "", 0
print(body)
print("%03d" % code)
PY
)
  fi
  HTTP_STATUS=${out##*$'\n'}
  [ -n "$HTTP_STATUS" ] || HTTP_STATUS=000
  printf '%s\n' "${out%$'\n'*}"
}

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

group_offsets() {  # group_offsets GROUP
  "$STREAMREC_SOURCE/deploy/kafka/kafka-tool.sh" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
    --bootstrap-server "$STREAMREC_BOOTSTRAP" --describe --group "$1" 2>/dev/null |
    awk -v g="$1" '$1 == g && $3 ~ /^[0-9]+$/ { print $2, $3, $4, $5 }' | sort -k2,2n
}
