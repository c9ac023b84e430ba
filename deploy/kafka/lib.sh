# Helpers shared by the deploy/kafka scripts. Sourced, not run.

KAFKA_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd "$KAFKA_SCRIPTS/../.." && pwd -P)
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_SCRIPTS/pom.xml")
KAFKA_CACHE=$REPO_ROOT/.cache/kafka/$KAFKA_VERSION
KAFKA_LIBS=$KAFKA_CACHE/libs
# Class-data-sharing archives (see kafka_java_cmd) only work with the JDK that
# wrote them, so they live in a folder named after that JDK's modules file.
java_home=$(readlink -f "$(command -v java)" 2>/dev/null) || java_home=/none/bin/java
KAFKA_CDS=$KAFKA_CACHE/cds/$(stat -Lc %Y-%s "${java_home%/bin/java}/lib/modules" 2>/dev/null || echo none)

die() { echo "${0##*/}: $*" >&2; exit 1; }

[ -n "$KAFKA_VERSION" ] || die "no <kafka.version> in $KAFKA_SCRIPTS/pom.xml"

# Sets the array JAVA_CMD to `java` plus the options every Kafka JVM here gets.
# $1 is the main class; it names a class-data-sharing archive in the cache that
# roughly halves JVM start-up (≈0.65 s → 0.35 s for a tool, 2.1 s → 1.2 s for
# the broker). When that archive is missing, the JVM writes one to $2 on exit
# and the caller hands it to cds_adopt. STREAMREC_KAFKA_CDS=0 turns this off.
# The JVM warns about classes it cannot archive, hence cds*=off.
kafka_java_cmd() {
  local jsa=$KAFKA_CDS/$1.jsa
  JAVA_CMD=(java -Xlog:disable "-Xlog:all=warning,cds*=off:stderr"
            -Dlog4j2.configurationFile="$KAFKA_SCRIPTS/log4j2.properties"
            -cp "$KAFKA_LIBS/*")
  if [ "${STREAMREC_KAFKA_CDS:-1}" != 1 ]; then :
  elif [ -s "$jsa" ]; then JAVA_CMD+=(-XX:SharedArchiveFile="$jsa")
  elif [ -n "${2:-}" ]; then JAVA_CMD+=(-XX:ArchiveClassesAtExit="$2")
  fi
}

# cds_adopt FILE MAIN: makes an archive written at JVM exit the cached one
# (copy + rename, so concurrent JVMs never map a half-written file).
cds_adopt() {
  [ -s "$1" ] || return 0
  local jsa=$KAFKA_CDS/$2.jsa
  if [ ! -s "$jsa" ] && mkdir -p "${jsa%/*}"; then
    cp "$1" "$jsa.$BASHPID" && mv -f "$jsa.$BASHPID" "$jsa"
  fi
  rm -f "$1"
}

# kafka_tool MAIN ARGS...: runs a Kafka command-line class (logging at WARN).
kafka_tool() {
  local main=$1 dump=$KAFKA_CDS/$1.jsa.tmp$BASHPID rc=0
  shift
  mkdir -p "$KAFKA_CDS"
  kafka_java_cmd "$main" "$dump"
  # Short-lived JVMs: C1 only and the serial GC start fastest.
  "${JAVA_CMD[@]}" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dstreamrec.log.level=WARN "$main" "$@" || rc=$?
  cds_adopt "$dump" "$main"
  return $rc
}

# broker_pid DIR: prints the pid of the broker start.sh runs on DIR, if any.
# Checks the command line too, so a stale pid file never matches another process.
broker_pid() {
  local pid
  pid=$(cat "$1/broker.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" |
    grep -qF " kafka.Kafka $1/server.properties" || return 1
  echo "$pid"
}

# broker_port DIR: the PLAINTEXT port in DIR/server.properties.
broker_port() {
  sed -n 's|^listeners=PLAINTEXT://127\.0\.0\.1:\([0-9]*\),.*|\1|p' "$1/server.properties"
}

# port_in_use PORT: true when something accepts TCP connections on it.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# kafka_ping PORT: true when a Kafka broker answers there. Sends an ApiVersions
# v0 request (api key 18, correlation id 42, empty client id) and checks the
# response's correlation id and error code 0 — a real round trip through the
# broker's request handlers, which KRaft enables only once the broker is
# unfenced, without the cost of starting a JVM.
kafka_ping() (
  exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
  printf '\0\0\0\012\0\022\0\0\0\0\0\052\0\0' >&3
  resp=$(timeout 2 head -c 10 <&3 | od -An -tx1 | tr -d ' \n')
  [[ $resp == ????????0000002a0000 ]]
) 2>/dev/null
