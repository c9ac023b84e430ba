# Helpers shared by the deploy/kafka scripts. Sourced, not run.

KAFKA_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd "$KAFKA_SCRIPTS/../.." && pwd -P)
# Class-data-sharing archives (see kafka_java_cmd) only work with the JDK that
# wrote them, so they live in a folder named after that JDK's modules file.
java_home=$(readlink -f "$(command -v java)" 2>/dev/null) || java_home=/none/bin/java
jdk_id=$(stat -Lc %Y-%s "${java_home%/bin/java}/lib/modules" 2>/dev/null || echo none)

die() { echo "${0##*/}: $*" >&2; exit 1; }

# kafka_use_version [VERSION]: the Kafka version these scripts run. Empty: the
# one of pom.xml (4.1.1); another needs its own pom-VERSION.xml here (3.9.1).
# Each version has its own cache, .cache/kafka/VERSION. Sets KAFKA_VERSION,
# KAFKA_POM, KAFKA_CACHE, KAFKA_LIBS, KAFKA_CDS and KAFKA_ACL_COMMAND, and
# exports STREAMREC_BROKER_VERSION for the scripts this one runs (fetch.sh...).
# (Not STREAMREC_KAFKA_*: the worker reads those as librdkafka settings.)
# shellcheck disable=SC2034  # KAFKA_POM, KAFKA_ACL_COMMAND: for the scripts that source this
kafka_use_version() {
  local pom=$KAFKA_SCRIPTS/pom.xml
  [[ ${1:-} =~ ^[0-9A-Za-z._-]*$ ]] || die "bad Kafka version '$1'"
  [ -z "${1:-}" ] || [ "$1" = "$(kafka_default_version)" ] || pom=$KAFKA_SCRIPTS/pom-$1.xml
  [ -f "$pom" ] || die "no Kafka $1 here: no $pom (versions: $(kafka_versions))"
  KAFKA_POM=$pom
  KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
  [ -n "$KAFKA_VERSION" ] || die "no <kafka.version> in $pom"
  [ -z "${1:-}" ] || [ "$1" = "$KAFKA_VERSION" ] || die "$pom is for Kafka $KAFKA_VERSION, not $1"
  KAFKA_CACHE=$REPO_ROOT/.cache/kafka/$KAFKA_VERSION
  KAFKA_LIBS=$KAFKA_CACHE/libs
  KAFKA_CDS=$KAFKA_CACHE/cds/$jdk_id
  # The tool classes that moved between versions (StorageTool and
  # org.apache.kafka.tools.TopicCommand are the same in 3.9 and 4.x).
  case $KAFKA_VERSION in
    [0-3].*) KAFKA_ACL_COMMAND=kafka.admin.AclCommand ;;
    *) KAFKA_ACL_COMMAND=org.apache.kafka.tools.AclCommand ;;
  esac
  export STREAMREC_BROKER_VERSION=$KAFKA_VERSION
}

kafka_default_version() {
  sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_SCRIPTS/pom.xml"
}

# kafka_versions: the versions there is a pom for, the default first.
kafka_versions() {
  local v p
  v=$(kafka_default_version)
  for p in "$KAFKA_SCRIPTS"/pom-*.xml; do
    [ -f "$p" ] || continue
    p=${p##*/pom-}
    v+=" ${p%.xml}"
  done
  echo "$v"
}

# kafka_use_dir_version DIR: runs the version that DIR's broker was set up with
# (start.sh and secure.sh write "# kafka.version=V" into DIR/server.properties;
# dirs from before that line existed are pom.xml's version). Dies when
# STREAMREC_BROKER_VERSION asked for another version, unless $2 is "any".
kafka_use_dir_version() {
  local v
  v=$(sed -n 's/^# kafka\.version=//p' "$1/server.properties" 2>/dev/null | head -n 1)
  [ -n "$v" ] || v=$(kafka_default_version)
  [ "$v" = "$KAFKA_VERSION" ] && return 0
  [ "${2:-}" = any ] || [ -z "$kafka_version_asked" ] ||
    die "$1 holds a Kafka $v broker, not $kafka_version_asked (STREAMREC_BROKER_VERSION)"
  kafka_use_version "$v"
}

kafka_version_asked=${STREAMREC_BROKER_VERSION:-}
kafka_use_version "$kafka_version_asked"

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
