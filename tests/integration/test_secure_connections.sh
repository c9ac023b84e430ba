#!/usr/bin/env bash
# streamrec on a secured cluster: TLS, SASL and ACLs on a broker of its own.
#
# deploy/kafka/secure.sh starts a second broker (ports STREAMREC_TEST_SECURE_KAFKA_PORT
# and +1, default the fixture's port + 10) that only speaks SASL_SSL, with a CA
# made for it and two users: alice, with ACLs on streamrec's topics, groups
# and transactional ids, and mallory, with none. Passwords live in files
# (-X sasl.password.file, STREAMREC_KAFKA_SASL_PASSWORD_FILE), never on a
# command line. PLAIN over TLS: librdkafka 2.0.2's SCRAM fails against Kafka 4
# (librdkafka #4895), which the last check documents.
#
# As alice: replay, trainer (publishes a model), an exactly-once worker with
# its changelog: recommendations come out. The worker's endpoint, bound to
# 127.0.0.1, listens there only; --http-port -1 opens none.
# Then each refusal — a wrong password, a CA that did not sign the broker's
# certificate, a user without ACLs — must stop the worker, the trainer and
# the replay with a non-zero status and a message naming the cause within
# 60 s; and alice's worker writing to a topic her ACLs do not cover. Neither the password nor its file's content may appear in any log
# (librdkafka's debug logs included) or in --print-config.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/worker_harness.sh"

port=${STREAMREC_TEST_SECURE_KAFKA_PORT:-$(( ${STREAMREC_TEST_KAFKA_PORT:-39092} + 10 ))}
work=$(mktemp -d "${TMPDIR:-/tmp}/streamrec-secure-it.XXXXXX")
broker=$work/broker
cleanup() {
  kill_worker
  "$STREAMREC_SOURCE/deploy/kafka/stop.sh" --dir "$broker" --purge >/dev/null 2>&1 || true
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

started=$(date +%s)
env_lines=$("$STREAMREC_SOURCE/deploy/kafka/secure.sh" --dir "$broker" --port "$port" \
  --topics "user-events:4,user-events-dlq:1,user-recommendations:4,worker-state-changelog:4:compact,model-updates:1:compact" \
  --user "alice:$alice_password" --user "mallory:$mallory_password" --grant alice) ||
  fail "secure.sh could not start the broker"
echo "secured broker up in $(( $(date +%s) - started )) s"
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
# expect_refusal NAME PATTERN COMMAND...: runs COMMAND (killed after 90 s).
expect_refusal() {
  local name=$1 pattern=$2 t0 status=0 seconds
  shift 2
  t0=$(date +%s)
  timeout 90 "$@" >"$work/$name.out" 2>"$work/$name.log" || status=$?
  seconds=$(( $(date +%s) - t0 ))
  [ "$status" -ne 0 ] || fail "$name: exited 0"
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

# SCRAM-SHA-512 with the right password: works with librdkafka 2.6.1+, and
# with an older one fails saying why (librdkafka #4895).
scram=(--bootstrap "$bootstrap" -X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-512
       -X "ssl.ca.location=$ca" -X sasl.username=alice -X "sasl.password.file=$work/secrets/alice")
if ! timeout 90 "$STREAMREC_BIN" replay "${scram[@]}" --format synthetic --users 10 --items 20 --events 100 \
     --no-progress >/dev/null 2>"$work/scram.log"; then
  grep -q 'Kafka authentication failed (SASL SCRAM-SHA-512.*#4895' "$work/scram.log" ||
    { tail -n 3 "$work/scram.log"; fail "SCRAM failed without naming librdkafka #4895"; }
  echo "SCRAM-SHA-512: refused by this librdkafka, as the message says (librdkafka #4895)"
fi

# ---- no secret anywhere: logs (debug included), --print-config ----
grep -q 'SASL\|sasl' "$work/replay.log" || fail "the replay's debug log has no SASL lines: is debug on?"
for password in "$alice_password" "$mallory_password"; do
  if leaked=$(grep -l -F -- "$password" "$work"/*.log "$work"/*.out "$work/print-config.txt"); then
    fail "a password appears in: $leaked"
  fi
done
echo "no password in $(cat "$work"/*.log | wc -l) log lines nor in --print-config"
