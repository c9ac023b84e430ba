#!/usr/bin/env bash
# streamrec on a secured cluster: TLS, SASL and ACLs on a broker of its own.
#
# deploy/kafka/secure.sh starts a second broker (ports STREAMREC_TEST_SECURE_KAFKA_PORT
# and +1, default the fixture's port + 10) that only speaks SASL_SSL, with a CA
# made for it and two users: alice, with ACLs on streamrec's topics, groups
# and transactional ids, and mallory, with none. Passwords live in files
# (-X sasl.password.file, STREAMREC_KAFKA_SASL_PASSWORD_FILE), never on a
# command line. PLAIN over TLS: librdkafka 2.0.2's SCRAM fails against Kafka 4
# (librdkafka #4895), which a check documents: with librdkafka < 2.6.1 (as
# pkg-config reports it) SCRAM-SHA-512 on this Kafka 4.1.1 broker must fail
# with status 1 and a message naming #4895.
#
# As alice: replay, trainer (publishes a model), an exactly-once worker with
# its changelog: recommendations come out. The worker's endpoint, bound to
# 127.0.0.1, listens there only; --http-port -1 opens none.
# Then each refusal — a wrong password, a CA that did not sign the broker's
# certificate, a user without ACLs — must stop the worker, the trainer and
# the replay with a non-zero status and a message naming the cause within
# 60 s; and alice's worker writing to a topic her ACLs do not cover. Neither the password nor its file's content may appear in any log
# (librdkafka's debug logs included) or in --print-config.
#
# SCRAM-SHA-512 leg: a third broker, secure.sh with STREAMREC_BROKER_VERSION=3.9.1
# (ports STREAMREC_TEST_SCRAM_KAFKA_PORT and +1, default the fixture's port + 12),
# started in the background while the PLAIN leg runs. Kafka 3.8.1-3.9.x accept
# librdkafka 2.0.2's SCRAM nonce. As alice with -X sasl.mechanisms=SCRAM-SHA-512:
# replay, trainer, an exactly-once worker with its compacted changelog:
# recommendations come out; a wrong SCRAM password stops each of the three with
# status 1 and the authentication message.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/worker_harness.sh"

port=${STREAMREC_TEST_SECURE_KAFKA_PORT:-$(( ${STREAMREC_TEST_KAFKA_PORT:-29092} + 10 ))}
scram_port=${STREAMREC_TEST_SCRAM_KAFKA_PORT:-$(( ${STREAMREC_TEST_KAFKA_PORT:-29092} + 12 ))}
work=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-secure-it.XXXXXX")
broker=$work/broker scram_broker=$work/broker-3.9.1 scram_starter=''
cleanup() {
  kill_worker
  # A secure.sh still starting the 3.9.1 broker: let it finish, then stop that.
  [ -z "$scram_starter" ] || wait "$scram_starter" 2>/dev/null || true
  "$STREAMREC_SOURCE/deploy/kafka/stop.sh" --dir "$broker" --purge >/dev/null 2>&1 || true
  "$STREAMREC_SOURCE/deploy/kafka/stop.sh" --dir "$scram_broker" --purge >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
secret() { head -c 15 /dev/urandom | base64 | tr -d '/+='; }

alice_password=$(secret) mallory_password=$(secret)
mkdir -m 700 "$work/secrets"
echo "$alice_password" >"$work/secrets/alice"        # with a newline, as echo writes it
echo "not-$alice_password" >"$work/secrets/wrong"
echo "$mallory_password" >"$work/secrets/mallory"

# Both versions' jars first, one after the other (on a fresh machine this is
# where Maven downloads them; two Mavens at once on one ~/.m2 is asking for trouble).
started=$(date +%s)
"$STREAMREC_SOURCE/deploy/kafka/fetch.sh" >/dev/null || fail "fetch.sh could not fetch Kafka 4.1.1"
STREAMREC_BROKER_VERSION=3.9.1 "$STREAMREC_SOURCE/deploy/kafka/fetch.sh" >/dev/null ||
  fail "fetch.sh could not fetch Kafka 3.9.1"
echo "Kafka 4.1.1 and 3.9.1 jars ready in $(( $(date +%s) - started )) s"

started=$(date +%s)
topics="user-events:4,user-events-dlq:1,user-recommendations:4,worker-state-changelog:4:compact,model-updates:1:compact"
env_lines=$("$STREAMREC_SOURCE/deploy/kafka/secure.sh" --dir "$broker" --port "$port" --topics "$topics" \
  --user "alice:$alice_password" --user "mallory:$mallory_password" --grant alice) ||
  fail "secure.sh could not start the broker"
echo "secured broker up in $(( $(date +%s) - started )) s"
# The Kafka 3.9.1 broker for the SCRAM leg starts while the PLAIN leg runs.
scram_started=$(date +%s)
STREAMREC_BROKER_VERSION=3.9.1 "$STREAMREC_SOURCE/deploy/kafka/secure.sh" --dir "$scram_broker" \
  --port "$scram_port" --topics "$topics" --user "alice:$alice_password" --grant alice \
  >"$work/broker-3.9.1.env" 2>"$work/broker-3.9.1.err" &
scram_starter=$!
bootstrap=$(sed -n 's/^STREAMREC_BOOTSTRAP=//p' <<<"$env_lines")
ca=$(sed -n 's/^STREAMREC_KAFKA_CA=//p' <<<"$env_lines")
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=a CA nobody trusts" \
  -keyout "$work/other-ca.key" -out "$work/other-ca.pem" 2>/dev/null

# security SASL_SSL with PLAIN, a CA file, a user and a password file
tls() { echo -X security.protocol=SASL_SSL -X sasl.mechanisms=PLAIN -X "ssl.ca.location=$1" \
        -X "sasl.username=$2" -X "sasl.password.file=$work/secrets/$3"; }
# shellcheck disable=SC2207  # the words of tls() hold no spaces
alice=(--bootstrap "$bootstrap" $(tls "$ca" alice alice))

# ---- as alice: replay, trainer, worker ----
replayed=$("$STREAMREC_BIN" replay "${alice[@]}" -X debug=security,broker,conf --log-level debug \
  --format synthetic --users 1000 --items 200 --events 20000 --seed 7 --no-progress --summary-json \
  2>"$work/replay.log") || { tail -n 5 "$work/replay.log"; fail "the replay as alice failed"; }
[ "$(json_field delivered "$replayed")" -eq 20000 ] || fail "the replay delivered: $replayed"

summary=$("$STREAMREC_BIN" trainer "${alice[@]}" --topic user-events --out "$work/model.srm" --publish \
  --embed-dim 16 --hidden-dim 16 --epochs 1 --seed 5 --no-progress 2>"$work/trainer.log") ||
  { tail -n 5 "$work/trainer.log"; fail "the trainer as alice failed"; }
[ "$(json_field events "$summary")" -eq 20000 ] || fail "the trainer read: $summary"
echo "trainer published model $(json_field model_version "$summary")"

# The worker takes its password from the environment's file variable.
worker_kafka=(--bootstrap "$bootstrap" -X security.protocol=SASL_SSL -X sasl.mechanisms=PLAIN
              -X "ssl.ca.location=$ca" -X sasl.username=alice)
worker_args=("${worker_kafka[@]}" --topic-changelog worker-state-changelog --http-bind 127.0.0.1
             --score-after-events 1 --score-min-interval-ms 0 --log-level debug -X "debug=security,conf")
export STREAMREC_KAFKA_SASL_PASSWORD_FILE=$work/secrets/alice
"$STREAMREC_BIN" worker "${worker_args[@]}" --print-config >"$work/print-config.txt" ||
  fail "--print-config failed"
grep -q '^kafka.sasl.password=\*\*\*\*\*\*\*\*$' "$work/print-config.txt" ||
  fail "--print-config does not show kafka.sasl.password masked"
start_worker "$work/worker.log" "${worker_args[@]}"
wait_processed 20000 120
recommendations=$("$STREAMREC_BIN" tail "${alice[@]}" --topic user-recommendations --from-beginning \
  --exit-at-end 2>"$work/tail.log" | grep -c '"items":' || true)
[ "$recommendations" -gt 0 ] || fail "no recommendations on user-recommendations"
echo "alice's worker published $recommendations recommendation lists"
# The endpoint listens on 127.0.0.1 and nowhere else.
listening=$(ss -Hltn "sport = :$worker_port" | awk '{ print $4 }')
[ "$listening" = "127.0.0.1:$worker_port" ] || fail "the endpoint listens on '$listening', not 127.0.0.1:$worker_port"
[ "$(http_status "http://127.0.0.1:$worker_port/healthz")" = 200 ] || fail "/healthz on 127.0.0.1"
stop_worker
unset STREAMREC_KAFKA_SASL_PASSWORD_FILE

# ---- refusals: a clear message and a non-zero status within 60 s ----
# expect_refusal NAME PATTERN COMMAND...: runs COMMAND (killed after 90 s);
# want_status=N expect_refusal ... also wants exactly status N.
expect_refusal() {
  local name=$1 pattern=$2 t0 status=0 seconds
  shift 2
  t0=$(date +%s)
  timeout 90 "$@" >"$work/$name.out" 2>"$work/$name.log" || status=$?
  seconds=$(( $(date +%s) - t0 ))
  [ "$status" -ne 0 ] || fail "$name: exited 0"
  [ -z "${want_status:-}" ] || [ "$status" -eq "$want_status" ] ||
    { tail -n 5 "$work/$name.log"; fail "$name: status $status, not $want_status"; }
  [ "$status" -ne 124 ] || { tail -n 5 "$work/$name.log"; fail "$name: still running after 90 s"; }
  [ "$seconds" -le 60 ] || fail "$name: took $seconds s to fail"
  grep -q "\"level\":\"error\".*$pattern" "$work/$name.log" ||
    { tail -n 5 "$work/$name.log"; fail "$name: no error matching '$pattern'"; }
  echo "$name: status $status after $seconds s: $(grep -o "${pattern}[^\"]*" "$work/$name.log" | head -n 1 | cut -c1-160)"
}
refused=("wrong-password|Kafka authentication failed (SASL PLAIN as 'alice'|$ca alice wrong"
         "untrusted-ca|Kafka TLS failed: the broker's certificate is not trusted|$work/other-ca.pem alice alice"
         "no-acls|Kafka authorization failed for 'mallory'|$ca mallory mallory")
for case in "${refused[@]}"; do
  IFS='|' read -r name pattern settings <<<"$case"
  # shellcheck disable=SC2046,SC2086,SC2207  # settings: three words without spaces
  kafka=(--bootstrap "$bootstrap" $(tls $settings))
  expect_refusal "$name-worker" "$pattern" "$STREAMREC_BIN" worker "${kafka[@]}" --http-port -1 \
    --topic-changelog worker-state-changelog
  ! grep -q 'serving /healthz' "$work/$name-worker.log" || fail "--http-port -1 started the endpoint"
  expect_refusal "$name-trainer" "$pattern" "$STREAMREC_BIN" trainer "${kafka[@]}" --topic user-events \
    --out "$work/refused.srm" --publish --epochs 1 --no-progress
  expect_refusal "$name-replay" "$pattern" "$STREAMREC_BIN" replay "${kafka[@]}" --format synthetic \
    --users 10 --items 20 --events 100 --no-progress
done

# Alice's worker told to write where her ACLs do not reach stops too, in
# either guarantee (exactly-once would otherwise abort and retry forever).
for guarantee in exactly_once at_least_once; do
  expect_refusal "forbidden-output-$guarantee" "Kafka authorization failed for 'alice'" \
    "$STREAMREC_BIN" worker "${alice[@]}" --http-port -1 --topic-recommendations not-alices \
    --processing-guarantee "$guarantee" --group-id "streamrec-$guarantee"
done

# SCRAM-SHA-512 with the right password on Kafka 4.1.1: works with librdkafka
# 2.6.1+; with an older one it must fail saying why (librdkafka #4895).
rdkafka=$(pkg-config --modversion rdkafka 2>/dev/null || true)
old_rdkafka=''
if [ -n "$rdkafka" ] && [ "$(printf '%s\n' "$rdkafka" 2.6.1 | sort -V | head -n 1)" != 2.6.1 ]; then
  old_rdkafka=1
fi
scram=(--bootstrap "$bootstrap" -X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-512
       -X "ssl.ca.location=$ca" -X sasl.username=alice -X "sasl.password.file=$work/secrets/alice")
status=0
timeout 90 "$STREAMREC_BIN" replay "${scram[@]}" --format synthetic --users 10 --items 20 --events 100 \
  --no-progress >/dev/null 2>"$work/scram-kafka4.log" || status=$?
if [ "$status" -eq 0 ]; then
  [ -z "$old_rdkafka" ] ||
    fail "SCRAM-SHA-512 on Kafka 4.1.1 worked with librdkafka $rdkafka < 2.6.1: is #4895 patched in?"
  echo "SCRAM-SHA-512 on Kafka 4.1.1: works with librdkafka ${rdkafka:-(version unknown)}"
else
  [ "$status" -eq 1 ] || { tail -n 3 "$work/scram-kafka4.log"; fail "SCRAM on Kafka 4.1.1: status $status, not 1"; }
  grep -q '"level":"error".*Kafka authentication failed (SASL SCRAM-SHA-512 as .alice.*#4895' \
    "$work/scram-kafka4.log" ||
    { tail -n 3 "$work/scram-kafka4.log"; fail "SCRAM failed on Kafka 4.1.1 without naming librdkafka #4895"; }
  echo "SCRAM-SHA-512 on Kafka 4.1.1: status 1 with librdkafka ${rdkafka:-(version unknown)}, as the message says (librdkafka #4895)"
fi

# ---- SCRAM-SHA-512 on Kafka 3.9.1, as alice: replay, trainer, worker ----
scram_status=0
wait "$scram_starter" || scram_status=$?
if [ "$scram_status" -ne 0 ]; then
  cat "$work/broker-3.9.1.err"
  tail -n 30 "$scram_broker/broker.log" 2>/dev/null || true
  fail "secure.sh could not start the Kafka 3.9.1 broker (status $scram_status)"
fi
scram_starter=''
echo "Kafka 3.9.1 secured broker was up $(( $(stat -c %Y "$work/broker-3.9.1.env") - scram_started )) s after its start"
scram_bootstrap=$(sed -n 's/^STREAMREC_BOOTSTRAP=//p' "$work/broker-3.9.1.env")
scram_ca=$(sed -n 's/^STREAMREC_KAFKA_CA=//p' "$work/broker-3.9.1.env")
if [ -z "$scram_bootstrap" ] || [ -z "$scram_ca" ]; then fail "secure.sh printed no bootstrap or CA for Kafka 3.9.1"; fi
scram39=(--bootstrap "$scram_bootstrap" -X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-512
         -X "ssl.ca.location=$scram_ca" -X sasl.username=alice)
alice39=("${scram39[@]}" -X "sasl.password.file=$work/secrets/alice")

replayed=$("$STREAMREC_BIN" replay "${alice39[@]}" -X debug=security --log-level debug --format synthetic \
  --users 300 --items 100 --events 5000 --seed 11 --no-progress --summary-json 2>"$work/scram-replay.log") ||
  { tail -n 5 "$work/scram-replay.log"; fail "the SCRAM-SHA-512 replay as alice on Kafka 3.9.1 failed"; }
[ "$(json_field delivered "$replayed")" -eq 5000 ] || fail "the SCRAM replay delivered: $replayed"
grep -q 'SCRAM-SHA-512' "$work/scram-replay.log" || fail "the SCRAM replay's debug log never names SCRAM-SHA-512"

summary=$("$STREAMREC_BIN" trainer "${alice39[@]}" --topic user-events --out "$work/model-3.9.1.srm" --publish \
  --embed-dim 16 --hidden-dim 16 --epochs 1 --seed 5 --no-progress 2>"$work/scram-trainer.log") ||
  { tail -n 5 "$work/scram-trainer.log"; fail "the SCRAM-SHA-512 trainer as alice on Kafka 3.9.1 failed"; }
[ "$(json_field events "$summary")" -eq 5000 ] || fail "the SCRAM trainer read: $summary"
echo "SCRAM-SHA-512 on Kafka 3.9.1: replayed 5000 events, trainer published model $(json_field model_version "$summary")"

# (The log exists before the worker opens it: start_worker may read it first.)
: >"$work/scram-worker.log"
start_worker "$work/scram-worker.log" "${alice39[@]}" --processing-guarantee exactly_once \
  --topic-changelog worker-state-changelog --http-bind 127.0.0.1 --score-after-events 1 --score-min-interval-ms 0
wait_processed 5000 120
recommendations=$("$STREAMREC_BIN" tail "${alice39[@]}" --topic user-recommendations --from-beginning \
  --exit-at-end 2>"$work/scram-tail.log" | grep -c '"items":' || true)
[ "$recommendations" -gt 0 ] || fail "no recommendations on Kafka 3.9.1's user-recommendations"
echo "SCRAM-SHA-512 on Kafka 3.9.1: alice's exactly-once worker published $recommendations recommendation lists"
stop_worker

# A wrong SCRAM password: status 1 and the authentication message, the three
# side by side (the worker and the trainer take about 10 s each to give up).
pattern="Kafka authentication failed (SASL SCRAM-SHA-512 as 'alice'"
wrong39=("${scram39[@]}" -X "sasl.password.file=$work/secrets/wrong")
pids=()
want_status=1 expect_refusal scram-wrong-password-worker "$pattern" "$STREAMREC_BIN" worker "${wrong39[@]}" \
  --http-port -1 --topic-changelog worker-state-changelog &
pids+=($!)
want_status=1 expect_refusal scram-wrong-password-trainer "$pattern" "$STREAMREC_BIN" trainer "${wrong39[@]}" \
  --topic user-events --out "$work/refused.srm" --publish --epochs 1 --no-progress &
pids+=($!)
want_status=1 expect_refusal scram-wrong-password-replay "$pattern" "$STREAMREC_BIN" replay "${wrong39[@]}" \
  --format synthetic --users 10 --items 20 --events 100 --no-progress &
pids+=($!)
for pid in "${pids[@]}"; do wait "$pid" || fail "a wrong SCRAM password on Kafka 3.9.1 was not refused as it should"; done

# ---- no secret anywhere: logs (debug included), --print-config ----
grep -q 'SASL\|sasl' "$work/replay.log" || fail "the replay's debug log has no SASL lines: is debug on?"
for password in "$alice_password" "$mallory_password"; do
  if leaked=$(grep -l -F -- "$password" "$work"/*.log "$work"/*.out "$work/print-config.txt"); then
    fail "a password appears in: $leaked"
  fi
done
echo "no password in $(cat "$work"/*.log | wc -l) log lines nor in --print-config"
