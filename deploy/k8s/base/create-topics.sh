#!/bin/sh
# Creates the topics that topics.txt lists and the cluster lacks, then checks
# what streamrec relies on: the changelog has the event topic's partition
# count (the two are co-partitioned) and the compacted topics are compacted.
# Existing topics are never changed. Runs in the apache/kafka image (POSIX sh).
set -euf   # -f: no globbing of the words read from topics.txt

spec=${TOPICS_FILE:-/etc/streamrec/topics/topics.txt}
config=${KAFKA_CLIENT_CONFIG:-/etc/streamrec/kafka-admin/client.properties}
bootstrap=${KAFKA_BOOTSTRAP:?set KAFKA_BOOTSTRAP to the Kafka bootstrap servers}
kafka_topics=${KAFKA_TOPICS_SH:-/opt/kafka/bin/kafka-topics.sh}
rf=${REPLICATION_FACTOR:-}
events_topic=${EVENTS_TOPIC:-user-events}
changelog_topic=${CHANGELOG_TOPIC:-worker-state-changelog}

kt() { "$kafka_topics" --bootstrap-server "$bootstrap" --command-config "$config" "$@" </dev/null; }

# The first line of --describe: "Topic: t TopicId: .. PartitionCount: 12 .. Configs: a=b,.."
describe() { kt --describe --topic "$1" | sed -n '/PartitionCount:/{p;q;}'; }
partitions_of() { describe "$1" | sed -n 's/.*PartitionCount:[[:space:]]*\([0-9]*\).*/\1/p'; }

failed=0
# Drop comments and blank lines; a here-document keeps the loop in this shell.
topics=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$spec")
while read -r name parts configs; do
  set -- --create --if-not-exists --topic "$name" --partitions "$parts"
  [ -z "$rf" ] || set -- "$@" --replication-factor "$rf"
  for c in $configs; do set -- "$@" --config "$c"; done
  kt "$@"
  line=$(describe "$name")
  have=$(partitions_of "$name")
  echo "topic $name: $have partitions (asked for $parts)"
  [ "$have" = "$parts" ] || echo "warning: $name existed with $have partitions, not $parts" >&2
  for c in $configs; do
    case $line in
      *"$c"*) ;;
      *) if [ "$c" = cleanup.policy=compact ]; then
           echo "error: $name is not compacted (cleanup.policy=compact): its records would expire" >&2
           failed=1
         else
           echo "warning: $name does not show $c (it may be the broker's default)" >&2
         fi ;;
    esac
  done
done <<TOPICS
$topics
TOPICS

events=$(partitions_of "$events_topic")
changelog=$(partitions_of "$changelog_topic")
if [ -n "$events" ] && [ "$events" != "$changelog" ]; then
  echo "error: $changelog_topic has ${changelog:-no} partitions, $events_topic has $events:" \
       "they are co-partitioned and must match (recreate $changelog_topic)" >&2
  failed=1
fi
exit $failed
