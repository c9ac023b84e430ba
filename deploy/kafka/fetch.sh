#!/usr/bin/env bash
# Fetches the Kafka broker and tools jars listed in pom.xml into the git-ignored
# cache <repo>/.cache/kafka/<kafka.version>/libs and prints that path.
# STREAMREC_BROKER_VERSION=V fetches another version, from pom-V.xml, into its
# own cache (.cache/kafka/V); e.g. 3.9.1, whose SCRAM works with librdkafka 2.0.2.
# Idempotent and offline-safe: Maven runs only when the stamp file (written last,
# holding the pom's hash) is missing or stale.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v java >/dev/null ||
  die "java not found; install a Java 17+ runtime (deploy/install-deps.sh)"

stamp=$KAFKA_CACHE/libs.stamp
want=$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)
mkdir -p "$KAFKA_CACHE"
# Serialise concurrent runs (e.g. two brokers started at once on a cold cache).
exec 9>"$KAFKA_CACHE/.lock"
flock 9

if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  command -v mvn >/dev/null ||
    die "mvn not found; install Maven (deploy/install-deps.sh) to fetch Kafka $KAFKA_VERSION once"
  echo "fetch.sh: fetching Kafka $KAFKA_VERSION jars into $KAFKA_LIBS" >&2
  # The class-data-sharing archives belong to the old jars: drop them too.
  rm -rf "$stamp" "$KAFKA_LIBS" "$KAFKA_LIBS.tmp" "$KAFKA_CACHE/cds"
  # Maven 3.8 -q prints stray colour resets even with -B; strip them.
  mvn -q -B -f "$KAFKA_POM" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS.tmp" 2>&1 |
    sed 's/\x1b\[0m//g' >&2 ||
    die "mvn could not fetch the Kafka jars (offline and no cache yet?)"
  mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
  echo "$want" >"$stamp"
fi
echo "$KAFKA_LIBS"
