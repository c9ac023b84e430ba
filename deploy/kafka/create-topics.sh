#!/usr/bin/env bash
# Creates Kafka topics that do not exist yet (existing ones are left as they are).
# usage: create-topics.sh --bootstrap HOST:PORT --topics "name:partitions[:compact],..."
#        create-topics.sh --check --topics SPEC   (only validates SPEC)
# Replication factor is 1 (single-node test broker); ":compact" sets
# cleanup.policy=compact.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage="usage: create-topics.sh --bootstrap HOST:PORT --topics \"name:partitions[:compact],...\""
bootstrap='' spec='' check=''
while [ $# -gt 0 ]; do
  case $1 in
    --bootstrap|--topics) [ $# -ge 2 ] || die "$1 needs a value; $usage" ;;&
    --bootstrap) bootstrap=$2; shift 2 ;;
    --topics) spec=$2; shift 2 ;;
    --check) check=1; shift ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) die "unknown argument '$1'; $usage" ;;
  esac
done
[ -n "$bootstrap$check" ] || die "--bootstrap is required; $usage"

# Parse and check the whole spec before starting any JVM.
cmds=()
IFS=, read -ra items <<<"$spec"
for item in "${items[@]}"; do
  [ -n "$item" ] || continue
  IFS=: read -r name parts policy extra <<<"$item"
  if ! [[ $name =~ ^[A-Za-z0-9._-]+$ && $parts =~ ^[1-9][0-9]*$ && -z $extra &&
          ( -z $policy || $policy == compact ) ]]; then
    die "bad topic spec '$item' (want name:partitions or name:partitions:compact)"
  fi
  cmd="--topic $name --partitions $parts"
  [ -z "$policy" ] || cmd+=" --config cleanup.policy=compact"
  cmds+=("$cmd")
done
[ ${#cmds[@]} -gt 0 ] && [ -z "$check" ] || exit 0

"$KAFKA_SCRIPTS/fetch.sh" >/dev/null
# TopicCommand creates one topic per JVM and a JRE has no way to script a
# single AdminClient call, so the JVMs run side by side; each one's output is
# kept and shown only if it fails.
out=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-topics.XXXXXX")
trap 'rm -rf "$out"' EXIT
pids=()
for i in "${!cmds[@]}"; do
  # shellcheck disable=SC2086  # cmds[i] holds checked words only
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" \
    --create --if-not-exists --replication-factor 1 ${cmds[i]} >"$out/$i" 2>&1 &
  pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
  wait "${pids[i]}" && continue
  failed=1
  echo "create-topics.sh: creating ${cmds[i]} failed:" >&2
  cat "$out/$i" >&2
done
exit $failed
