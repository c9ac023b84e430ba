#!/bin/sh
# A stand-in for kafka-topics.sh that keeps topics as files in $FAKE_KAFKA
# (one per topic: "partitions configs"), enough of --create --if-not-exists
# and --describe for deploy/k8s/base/create-topics.sh to run offline.
set -eu
op='' topic='' parts='' configs=''
while [ $# -gt 0 ]; do
  case $1 in
    --create|--describe) op=$1 ;;
    --topic) topic=$2; shift ;;
    --partitions) parts=$2; shift ;;
    --config) configs="${configs:+$configs,}$2"; shift ;;
    --bootstrap-server|--command-config|--replication-factor) shift ;;
    --if-not-exists) ;;
    *) echo "fake-kafka-topics: unexpected argument $1" >&2; exit 2 ;;
  esac
  shift
done
state="$FAKE_KAFKA/$topic"
case $op in
  --create) [ -e "$state" ] || echo "$parts $configs" >"$state" ;;
  --describe)
    [ -e "$state" ] || { echo "Error: topic '$topic' does not exist" >&2; exit 1; }
    read -r parts configs <"$state"
    printf 'Topic: %s\tTopicId: x\tPartitionCount: %s\tReplicationFactor: 1\tConfigs: %s\n' \
      "$topic" "$parts" "$configs"
    printf '\tTopic: %s\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\n' "$topic" ;;
esac
