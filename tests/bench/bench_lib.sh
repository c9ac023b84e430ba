# Shared by the benchmark scripts that run workers (worker.sh, eos.sh; sourced,
# not run): a scratch dir removed on exit with every process started, a log
# line prefix, and waiting for a worker's metrics port.
#
#   bench_setup NAME       sets work, started_pids, log(), the EXIT trap (which
#                          removes work unless STREAMREC_KEEP_WORK is set)
#   wait_worker_port NAME  worker_pid started with --http-port 0 and its log in
#                          $work/NAME.log: sets worker_port, or exits 1

bench_setup() {
  bench_name=$1
  work=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-bench-$1.XXXXXX")
  started_pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local pid
  for pid in "${started_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  if [ -n "${STREAMREC_KEEP_WORK:-}" ]; then log "kept $work (STREAMREC_KEEP_WORK)"; else rm -rf "$work"; fi
}

log() { echo "$bench_name bench: $*" >&2; }

wait_worker_port() {
  local name=$1 deadline=$((SECONDS + 60))
  worker_port=''
  while [ -z "$worker_port" ]; do
    kill -0 "$worker_pid" 2>/dev/null || { tail -n 20 "$work/$name.log" >&2; log "worker $name exited at start"; exit 1; }
    [ $SECONDS -lt $deadline ] || { tail -n 20 "$work/$name.log" >&2; log "worker $name: no HTTP port in 60 s"; exit 1; }
    worker_port=$(grep -o 'metrics on port [0-9]*' "$work/$name.log" | grep -o '[0-9]*$' || true)
    [ -n "$worker_port" ] || sleep 0.05
  done
}
