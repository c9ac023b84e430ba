#!/usr/bin/env bash
# Stops the test broker that start.sh runs on DIR.
# usage: stop.sh [--dir DIR] [--kill] [--purge]
#   --dir    data dir (default: $STREAMREC_BROKER_DIR)
#   --kill   SIGKILL at once (crash the broker, e.g. for chaos tests) instead of
#            SIGTERM, a clean shutdown, and SIGKILL only after 20 s
#   --purge  remove DIR afterwards
# A stopped broker restarts on its data with: start.sh --dir DIR
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage="usage: stop.sh [--dir DIR] [--kill] [--purge]"
dir=${STREAMREC_BROKER_DIR:-} kill_now='' purge=''
while [ $# -gt 0 ]; do
  case $1 in
    --dir) [ $# -ge 2 ] || die "--dir needs a value; $usage"; dir=$2; shift 2 ;;
    --kill) kill_now=1; shift ;;
    --purge) purge=1; shift ;;
    -h|--help) sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument '$1'; $usage" ;;
  esac
done
[ -n "$dir" ] || die "no --dir and STREAMREC_BROKER_DIR is not set; $usage"
if [ ! -d "$dir" ]; then
  [ -n "$purge" ] && exit 0   # already purged: nothing to do
  die "$dir does not exist"
fi
dir=$(cd "$dir" && pwd -P)
# Refuse to signal or delete anything start.sh did not set up.
grep -qsE '^# Written by deploy/kafka/(start|secure)\.sh' "$dir/server.properties" ||
  die "$dir holds no broker from start.sh"

# gone SECONDS: waits until the broker has exited; false on timeout.
gone() {
  local end=$((SECONDS + $1))
  while broker_pid "$dir" >/dev/null; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.1
  done
}

if pid=$(broker_pid "$dir"); then
  if [ -n "$kill_now" ]; then
    kill -KILL "$pid"
    gone 10 || die "broker pid $pid survived SIGKILL"
  else
    kill -TERM "$pid"
    if gone 20; then
      # A clean exit wrote the class-data-sharing archive, if one was asked for.
      cds_adopt "$dir/broker.jsa" kafka.Kafka
    else
      echo "stop.sh: broker pid $pid still running after 20 s; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      gone 10 || die "broker pid $pid survived SIGKILL"
    fi
  fi
  echo "stop.sh: stopped the broker in $dir" >&2
else
  echo "stop.sh: no broker running in $dir" >&2
fi
rm -f "$dir/broker.pid" "$dir/broker.jsa"

if [ -n "$purge" ]; then
  rm -rf "$dir"
fi
