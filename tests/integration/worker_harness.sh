# Shared by test_worker_end_to_end.sh and test_worker_models.sh (sourced after
# lib.sh, not run): one `streamrec worker` in the background, watched through
# its log and its /metrics endpoint.
#
#   start_worker LOG ARGS...  starts it with --http-port 0 and ARGS, waits for
#                             its port; sets worker_pid, worker_port, worker_log
#   metrics / metric NAME     the /metrics text / one unlabelled value
#   http_get URL, http_status URL   (curl, else python3's urllib)
#   wait_processed RECORDS SEC      until RECORDS consumed, lag 0, lists settled
#   stop_worker               SIGTERM; status 0 within 10 s, or fail
#   kill_worker               for the EXIT trap
#
# The caller defines `fail`.

worker_pid='' worker_port='' worker_log=''

if command -v curl >/dev/null 2>&1; then
  http_get() { curl -s --max-time 5 "$1" || true; }
  http_status() { curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$1" || true; }
else
  http_get() {
    python3 - "$1" <<'PY' || true
import sys, urllib.request
try:
    sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())
except Exception:
    pass
PY
  }
  http_status() {
    python3 - "$1" <<'PY' || echo 000
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
  }
fi

metrics() { http_get "http://127.0.0.1:$worker_port/metrics"; }

metric() { metrics | awk -v n="$1" '$1 == n { print $2; exit }'; }

start_worker() {  # start_worker LOG ARGS...
  worker_log=$1
  shift
  : >"$worker_log" # the loop below may read it before the background shell opens it
  "$STREAMREC_BIN" worker --http-port 0 "$@" >"$worker_log.out" 2>"$worker_log" &
  worker_pid=$!
  local deadline=$(( $(date +%s) + 30 ))
  worker_port=''
  while :; do
    worker_port=$(sed -n 's/.*"serving \/healthz, \/readyz and \/metrics on port \([0-9]*\)".*/\1/p' "$worker_log" | head -n 1)
    [ -n "$worker_port" ] && break
    kill -0 "$worker_pid" 2>/dev/null || { tail -n 20 "$worker_log"; fail "the worker exited at start"; }
    [ "$(date +%s)" -le "$deadline" ] || { tail -n 20 "$worker_log"; fail "no HTTP port in the worker's log after 30 s"; }
    sleep 0.2
  done
  echo "worker $worker_pid serves /metrics on port $worker_port"
}

# wait_processed RECORDS SEC: waits up to SEC seconds until the worker has
# consumed RECORDS records (any number: "any"), its consumer lag (from librdkafka's statistics,
# every 5 s) is 0 on every assigned partition, and no list was produced for
# 1.5 s, longer than score.min.interval.ms: every user due has been scored.
wait_processed() {
  local want=$1 deadline=$(( $(date +%s) + $2 )) m consumed lag series recs last_recs='' stable_since=0
  while :; do
    kill -0 "$worker_pid" 2>/dev/null || { tail -n 20 "$worker_log"; fail "the worker exited"; }
    m=$(metrics)
    consumed=$(awk '$1 == "streamrec_records_consumed_total" { print $2 }' <<<"$m")
    recs=$(awk '$1 == "streamrec_recommendations_total" { print $2 }' <<<"$m")
    read -r series lag < <(awk '/^streamrec_consumer_lag_records\{/ { n++; s += ($2 < 0 ? -$2 : $2) } END { print n + 0, s + 0 }' <<<"$m")
    if { [ "$want" = any ] || [ "${consumed:-0}" = "$want" ]; } && [ "$series" -gt 0 ] && [ "$lag" = 0 ]; then
      if [ "$recs" != "$last_recs" ]; then last_recs=$recs stable_since=$(date +%s%N); fi
      if [ $(( ($(date +%s%N) - stable_since) / 1000000 )) -ge 1500 ]; then
        echo "worker processed $consumed records (lag 0 on $series partitions, $recs recommendations)"
        return 0
      fi
    fi
    if [ "$(date +%s)" -gt "$deadline" ]; then
      tail -n 20 "$worker_log"
      fail "after $2 s the worker consumed ${consumed:-?} of $want records, lag $lag on $series partitions"
    fi
    sleep 0.3
  done
}

stop_worker() {
  kill -TERM "$worker_pid"
  local deadline=$(( $(date +%s%N) / 1000000 + 10000 )) status=0
  while kill -0 "$worker_pid" 2>/dev/null && [ $(( $(date +%s%N) / 1000000 )) -le "$deadline" ]; do sleep 0.1; done
  if kill -0 "$worker_pid" 2>/dev/null; then
    kill -KILL "$worker_pid" || true
    fail "the worker still ran 10 s after SIGTERM"
  fi
  wait "$worker_pid" || status=$?
  worker_pid=''
  [ "$status" -eq 0 ] || { tail -n 20 "$worker_log"; fail "the worker exited with status $status after SIGTERM"; }
  grep -q '"msg":"stopped after ' "$worker_log" || fail "no final summary line in the worker's log"
}

kill_worker() {
  if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then kill -KILL "$worker_pid" || true; fi
}

json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2" | head -n 1; }
