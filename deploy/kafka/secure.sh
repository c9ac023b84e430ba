#!/usr/bin/env bash
# Starts a single-node Kafka broker that only speaks SASL_SSL, for tests of
# secured clusters: TLS with a certificate from a CA made here, SCRAM-SHA-512
# users, ACLs (StandardAuthorizer, allow.everyone.if.no.acl.found=false).
# Each user can log in with SCRAM-SHA-512 and with PLAIN (over TLS): librdkafka
# before 2.6.1 (Debian 12 has 2.0.2) sends a SCRAM nonce that Kafka 4 rejects
# (librdkafka #4895: "invalid credentials" whatever the password), so streamrec
# on Debian 12 has to use PLAIN there; the Kafka tools and newer clients use SCRAM.
# Kafka 3.8.1-3.9.x accept that nonce: STREAMREC_BROKER_VERSION=3.9.1 secure.sh ...
# runs Kafka 3.9.1 (see fetch.sh), where librdkafka 2.0.2's SCRAM-SHA-512 works.
# An existing DIR restarts with the version it was set up with.
# usage: secure.sh --dir DIR [--port N] [--topics SPEC] [--user NAME:PASSWORD]... [--grant NAME]...
#   --dir     a new or empty data dir (required: the certificates and passwords live there)
#   --port    SASL_SSL port (default 29093); the controller uses N+1 (SASL_PLAINTEXT, PLAIN,
#             for the broker itself only)
#   --topics  topics to create, name:partitions[:compact],... (as create-topics.sh)
#   --user    a user (SCRAM-SHA-512 and PLAIN), created with no ACLs; repeatable
#   --grant   gives a --user what streamrec's commands need: read, write and describe on
#             the --topics topics, the consumer groups and transactional ids starting
#             with "streamrec-" (streamrec-worker, streamrec-model-publisher-...)
# The super user "admin" gets a random password. Writes into DIR:
#   tls/ca.pem          the CA clients trust (librdkafka: ssl.ca.location)
#   tls/broker.p12, tls/truststore.p12   the broker's PKCS12 key store and trust store
#   admin.properties    client settings of the admin, for the Kafka tools (--command-config)
#   env                 what it prints: STREAMREC_BOOTSTRAP, STREAMREC_BROKER_DIR, STREAMREC_KAFKA_CA
# Stop it with stop.sh --dir DIR [--purge]. Restarting a stopped one: secure.sh --dir DIR.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage="usage: secure.sh --dir DIR [--port N] [--topics SPEC] [--user NAME:PASSWORD]... [--grant NAME]..."
port=29093 dir='' topics='' users=() grants=()
while [ $# -gt 0 ]; do
  case $1 in
    --port|--dir|--topics|--user|--grant) [ $# -ge 2 ] || die "$1 needs a value; $usage" ;;&
    --port) port=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --topics) topics=$2; shift 2 ;;
    --user) users+=("$2"); shift 2 ;;
    --grant) grants+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument '$1'; $usage" ;;
  esac
done
[ -n "$dir" ] || die "--dir is required; $usage"
[[ $port =~ ^[0-9]+$ && $port -ge 1024 && $port -le 65534 ]] || die "--port must be a number in 1024..65534"
user_re='^[A-Za-z0-9_-]+:[^]\\,"]+$'   # the password goes into SCRAM's [name=,password=] syntax
for u in "${users[@]}"; do
  [[ $u =~ $user_re ]] || die "bad --user '${u%%:*}:...' (want NAME:PASSWORD, no quote, comma, ] or backslash)"
done
for g in "${grants[@]}"; do
  printf '%s\n' "${users[@]}" | grep -q "^$g:" || die "--grant $g: no --user $g"
done
"$KAFKA_SCRIPTS/create-topics.sh" --check --topics "$topics"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
log=$dir/broker.log
tls=$dir/tls
fail() {
  echo "secure.sh: $* (dir $dir)" >&2
  [ ! -f "$log" ] || { echo "--- last lines of $log:" >&2; tail -n 40 "$log" >&2; }
  exit 1
}
launched=''
trap '[ -z "$launched" ] || kill -KILL "$launched" 2>/dev/null || true' EXIT

# ---- certificates: a CA, and a broker certificate it signs for 127.0.0.1 ----
make_certificates() {
  mkdir -p "$tls"
  store_pass=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  echo "$store_pass" >"$tls/store.password"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=streamrec test CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$tls/broker.key" -out "$tls/broker.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$tls/san.ext"
  openssl x509 -req -in "$tls/broker.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 30 -extfile "$tls/san.ext" -out "$tls/broker.pem" 2>/dev/null
  openssl pkcs12 -export -name broker -inkey "$tls/broker.key" -in "$tls/broker.pem" \
    -certfile "$tls/ca.pem" -passout "pass:$store_pass" -out "$tls/broker.p12"
  keytool -importcert -noprompt -alias ca -file "$tls/ca.pem" -storetype PKCS12 \
    -keystore "$tls/truststore.p12" -storepass "$store_pass" >/dev/null 2>&1
  chmod 600 "$tls"/*.key "$tls/store.password"
}

write_config() {
  local admin_pass=$1 store_pass plain_users='' u
  store_pass=$(cat "$tls/store.password")
  for u in "${users[@]}"; do plain_users+=" user_${u%%:*}=\"${u#*:}\""; done
  # The marker line lets stop.sh stop it.
  cat >"$dir/server.properties" <<PROPS
# Written by deploy/kafka/secure.sh: single-node KRaft broker, SASL_SSL only, with ACLs.
# kafka.version=$KAFKA_VERSION
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$((port + 1))
controller.listener.names=CONTROLLER
listeners=SASL_SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$((port + 1))
advertised.listeners=SASL_SSL://127.0.0.1:$port
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_pass";
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin_pass" user_admin="$admin_pass"$plain_users;
# The controller cannot use SCRAM (its credentials live in the metadata it serves): PLAIN.
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin_pass" user_admin="$admin_pass";
ssl.keystore.type=PKCS12
ssl.keystore.location=$tls/broker.p12
ssl.keystore.password=$store_pass
ssl.truststore.type=PKCS12
ssl.truststore.location=$tls/truststore.p12
ssl.truststore.password=$store_pass
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
auto.create.topics.enable=false
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  cat >"$dir/admin.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_pass";
ssl.truststore.type=PKCS12
ssl.truststore.location=$tls/truststore.p12
ssl.truststore.password=$store_pass
PROPS
  chmod 600 "$dir/server.properties" "$dir/admin.properties"
}

# ---- a fresh dir: certificates, configuration, storage with the SCRAM users ----
if [ ! -f "$dir/server.properties" ]; then
  [ -z "$(ls -A "$dir")" ] || die "$dir is not empty and holds no broker from secure.sh"
  "$KAFKA_SCRIPTS/fetch.sh" >/dev/null
  make_certificates
  admin_pass=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  write_config "$admin_pass"
  scram=(--add-scram "SCRAM-SHA-512=[name=admin,password=$admin_pass]")
  for u in "${users[@]}"; do scram+=(--add-scram "SCRAM-SHA-512=[name=${u%%:*},password=${u#*:}]"); done
  id=-
  while [[ $id == -* ]]; do id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='); done
  kafka_tool kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" "${scram[@]}" \
    >>"$log" 2>&1 || fail "formatting the storage failed"
fi
grep -qs '^# Written by deploy/kafka/secure.sh' "$dir/server.properties" ||
  die "$dir holds no broker from secure.sh"
kafka_use_dir_version "$dir"
port=$(sed -n 's|^listeners=SASL_SSL://127\.0\.0\.1:\([0-9]*\),.*|\1|p' "$dir/server.properties")
bootstrap=127.0.0.1:$port

# ---- start, and wait until it serves ----
if ! broker_pid "$dir" >/dev/null; then
  for p in "$port" "$((port + 1))"; do
    ! port_in_use "$p" || die "port $p on 127.0.0.1 is in use; choose another --port"
  done
  log_start=$(stat -c %s "$log" 2>/dev/null || echo 0)
  kafka_java_cmd kafka.Kafka ''
  (cd "$dir" && exec setsid "${JAVA_CMD[@]}" -Xms256m -Xmx1g -XX:+ExitOnOutOfMemoryError \
      -Dstreamrec.log.level=INFO kafka.Kafka "$dir/server.properties") </dev/null >>"$log" 2>&1 &
  launched=$!
  echo "$launched" >"$dir/broker.pid"
  deadline=$((SECONDS + ${STREAMREC_KAFKA_START_TIMEOUT:-60}))
  until tail -c +$((log_start + 1)) "$log" | grep -q 'Kafka Server started'; do
    broker_pid "$dir" >/dev/null || fail "the broker exited during start-up"
    [ $SECONDS -lt $deadline ] || fail "the broker did not start in time"
    sleep 0.2
  done
fi

# ---- topics and ACLs, as the admin (one JVM each, side by side) ----
admin=(--bootstrap-server "$bootstrap" --command-config "$dir/admin.properties")
out=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-secure.XXXXXX")
pids=() what=() topic_names=()
run_tool() {  # run_tool DESCRIPTION CLASS ARGS...
  what+=("$1")
  kafka_tool "${@:2}" >"$out/${#pids[@]}" 2>&1 &
  pids+=($!)
}
IFS=, read -ra items <<<"$topics"
for item in "${items[@]}"; do
  [ -n "$item" ] || continue
  IFS=: read -r name parts policy <<<"$item"
  topic_names+=(--topic "$name")
  extra=()
  [ -z "$policy" ] || extra=(--config cleanup.policy=compact)
  run_tool "topic $name" org.apache.kafka.tools.TopicCommand "${admin[@]}" --create --if-not-exists \
    --replication-factor 1 --topic "$name" --partitions "$parts" "${extra[@]}"
done
for g in "${grants[@]}"; do
  acl=("$KAFKA_ACL_COMMAND" "${admin[@]}" --add --allow-principal "User:$g")
  [ ${#topic_names[@]} -eq 0 ] ||
    run_tool "topic ACLs of $g" "${acl[@]}" "${topic_names[@]}" --operation Read --operation Write \
      --operation Describe --operation DescribeConfigs
  run_tool "group ACLs of $g" "${acl[@]}" --group streamrec- --resource-pattern-type prefixed \
    --operation Read --operation Describe
  run_tool "transactional id ACLs of $g" "${acl[@]}" --transactional-id streamrec- \
    --resource-pattern-type prefixed --operation Write --operation Describe
done
failed=''
for i in "${!pids[@]}"; do
  wait "${pids[i]}" && continue
  failed=1
  echo "secure.sh: ${what[i]} failed:" >&2
  cat "$out/$i" >&2
done
rm -rf "$out"
[ -z "$failed" ] || fail "setting up topics or ACLs failed"

env_lines=$(printf 'STREAMREC_BOOTSTRAP=%s\nSTREAMREC_BROKER_DIR=%q\nSTREAMREC_KAFKA_CA=%q' \
  "$bootstrap" "$dir" "$tls/ca.pem")
echo "$env_lines" >"$dir/env"
echo "$env_lines"
launched=''   # success: keep the broker
