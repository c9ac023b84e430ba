#!/usr/bin/env bash
# Runs a Kafka command-line class with the cached jars, e.g.
#   kafka-tool.sh org.apache.kafka.tools.TopicCommand --bootstrap-server "$STREAMREC_BOOTSTRAP" --list
# (other useful ones: org.apache.kafka.tools.consumer.ConsoleConsumer,
#  org.apache.kafka.tools.consumer.group.ConsumerGroupCommand, kafka.admin.ConfigCommand).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -ge 1 ] || die "usage: kafka-tool.sh MAIN-CLASS [ARGS...]"
"$KAFKA_SCRIPTS/fetch.sh" >/dev/null
kafka_tool "$@"
