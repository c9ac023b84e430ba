#!/usr/bin/env bash
# The exactly-once chaos soak (`tests/bench/run chaos_soak`): the suite's chaos
# scenarios (tests/integration/chaos_harness.sh) at soak length, all in one run.
#
#   tests/bench/chaos_soak.sh [--events N] [--users U] [--rate R] [--kill-every S]
#   (defaults 5000000, 20000, 40000, 5)
#
# Needs the Release build in build/ and a broker it may restart: tests/bench/run
# starts one and sets STREAMREC_BOOTSTRAP and STREAMREC_BROKER_DIR.
#
# 3 exactly-once workers (static members, commit every 100 ms) process N
# events of U users arriving at R events/s. Meanwhile: every S seconds one
# worker at random is killed with SIGKILL and restarted; at a third of the
# stream worker 2 stops (SIGTERM: 3 -> 2 members) and comes back at half;
# at two thirds the broker is killed and restarted on its data (a worker that
# exits meanwhile is restarted, as an orchestrator would). Then the same
# verifiers as the suite's chaos tests: every user's final state counts each
# event once (count, hash, offset, partition) and equals an uninterrupted
# worker's within 1e-5; every list recomputes and none is published twice per
# (user, source offset); the 5 bad records are dead-lettered once each.
# Prints progress on stderr and, last on stdout, one JSON object.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

chaos_events=5000000 chaos_users=20000 rate=40000 kill_every=5
while [ $# -gt 0 ]; do
  case "$1" in
  --events) chaos_events=$2; shift 2 ;;
  --users) chaos_users=$2; shift 2 ;;
  --rate) rate=$2; shift 2 ;;
  --kill-every) kill_every=$2; shift 2 ;;
  -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
  *) echo "chaos_soak.sh: unknown argument '$1'; see --help" >&2; exit 2 ;;
  esac
done
: "${STREAMREC_BROKER_DIR:?the soak restarts its broker: run it through tests/bench/run chaos_soak}"
export STREAMREC_BIN=$repo/build/streamrec STREAMREC_BUILD=$repo/build STREAMREC_SOURCE=$repo
. tests/integration/lib.sh
. tests/integration/chaos_harness.sh
exec 3>&1 1>&2 # progress on stderr; the JSON goes to the saved stdout
started=$(date +%s)

chaos_setup
for i in 0 1 2; do start_one "$i"; done
start_stream "$rate"
stream_seconds=$(( chaos_events / rate ))
kills=0 scaled=0 broker_restarted=0

t0=$(date +%s) next_kill=$(( $(date +%s) + kill_every ))
while stream_running; do
  now=$(date +%s) elapsed=$(( $(date +%s) - t0 ))
  if [ "$scaled" -eq 0 ] && [ "$elapsed" -ge $(( stream_seconds / 3 )) ]; then
    stop_one 2 && scaled=1 && echo "$elapsed s: worker 2 stopped (2 members)"
  elif [ "$scaled" -eq 1 ] && [ "$elapsed" -ge $(( stream_seconds / 2 )) ]; then
    start_one 2 && scaled=2 && echo "$elapsed s: worker 2 back (3 members)"
  elif [ "$broker_restarted" -eq 0 ] && [ "$elapsed" -ge $(( 2 * stream_seconds / 3 )) ]; then
    kill_broker_and_restart
    broker_restarted=1
    echo "$elapsed s: broker killed and restarted"
  elif [ "$now" -ge "$next_kill" ]; then
    i=$(( RANDOM % 3 ))
    if [ -n "${pids[$i]:-}" ]; then
      kill -KILL "${pids[$i]}" 2>/dev/null || true
      wait "${pids[$i]}" 2>/dev/null || true
      start_one "$i"
      kills=$((kills + 1))
    fi
    next_kill=$(( now + kill_every ))
  fi
  supervise
  sleep 0.5
done
finish_stream
echo "stream in after $(( $(date +%s) - t0 )) s: $kills kills, $restarts restarts after exits"
wait_committed_supervised "$group" 600
for i in 0 1 2; do stop_one "$i"; done
verified=$(chaos_verify soak "\"users\":$chaos_users,\"rate\":$rate,\"kills\":$kills,\"scale\":\"3-2-3\",\"broker_restarts\":$broker_restarted,\"worker_restarts\":$restarts,") ||
  { echo "$verified"; exit 1; }
echo "$verified"
line=$(sed -n 's/^chaos: //p' <<<"$verified")
echo "${line%\}},\"bench\":\"chaos_soak\",\"seconds\":$(( $(date +%s) - started ))}" >&3
