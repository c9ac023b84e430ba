/*
 * kafka_errors.c — which librdkafka errors end a command, and how they are
 * told to the user; see "Terminal errors" in sr_kafka.h.
 *
 * librdkafka treats a wrong password, an untrusted broker certificate or a
 * missing ACL like any other broker trouble: it logs, reconnects with a
 * backoff and tries again, forever, and reports the same error at most every
 * 30 s (identical ones are suppressed). A stream processor would then sit
 * there, healthy-looking and useless. Retrying cannot fix any of these, so
 * every client reports them here and the command stops with a message that
 * names the cause and the setting to check.
 *
 * Two ways in. Errors returned by a call or carried by a message
 * (authorization failures on consume, produce, transactions) are turned into
 * an sr_error by sr_kafka_fail where they are seen. Connection-level errors
 * (SASL, TLS) reach no call: they arrive in the error callback, which
 * sr_kafka_conf_route_logs installs on every client; it logs every error and
 * keeps the first terminal one for the process, which the command's loop
 * picks up with sr_kafka_terminal_error.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "sr_kafka.h"
#include "sr_log.h"

bool sr_kafka_error_is_terminal(rd_kafka_resp_err_t code, const char *reason) {
    switch (code) {
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
        return true;
    case RD_KAFKA_RESP_ERR__SSL:
        /* A certificate that does not verify stays so; other TLS failures
         * (a connection reset mid-handshake by a restarting broker) pass. */
        return reason && strstr(reason, "certificate") != NULL;
    default:
        return false;
    }
}

static const char *or_unset(const char *value) { return value && *value ? value : "(not set)"; }

/* librdkafka before 2.6.1 repeats the client nonce in SCRAM's final message,
 * which Kafka 4 rejects as invalid credentials whatever the password
 * (librdkafka #4895): worth saying, since the message is otherwise a lie. */
static const char *scram_hint(const char *mechanism) {
    if (!mechanism || strncmp(mechanism, "SCRAM", 5) != 0 || rd_kafka_version() >= 0x020601ff) return "";
    return "; on a Kafka 4 broker librdkafka < 2.6.1 fails SCRAM whatever the password (#4895): "
           "use PLAIN over SASL_SSL there";
}

/* The cause and what to check come first: a long reason may be cut at the
 * end of the message buffer. */
void sr_kafka_describe_terminal(rd_kafka_resp_err_t code, const char *reason,
                                const sr_kafka_identity *who, char *out, size_t size) {
    const char *why = reason && *reason ? reason : rd_kafka_err2str(code);
    switch (code) {
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM:
        snprintf(out, size, "Kafka authentication failed (SASL %s as '%s'; check sasl.username "
                 "and sasl.password%s): %s", or_unset(who->mechanism), or_unset(who->username),
                 scram_hint(who->mechanism), why);
        return;
    case RD_KAFKA_RESP_ERR__SSL:
        snprintf(out, size, "Kafka TLS failed: the broker's certificate is not trusted (check "
                 "that ssl.ca.location %s holds the CA that signed it): %s",
                 or_unset(who->ca_location), why);
        return;
    default:
        snprintf(out, size, "Kafka authorization failed for '%s' (%s: the broker's ACLs do not "
                 "allow this user): %s", or_unset(who->username), rd_kafka_err2name(code), why);
        return;
    }
}

/* The identity rk connects with, read from its configuration into buffers. */
typedef struct identity_buffers {
    char mechanism[32], username[128], ca_location[256];
} identity_buffers;

static void read_setting(const rd_kafka_conf_t *conf, const char *key, char *out, size_t size) {
    out[0] = '\0';
    if (conf && rd_kafka_conf_get(conf, key, out, &size) != RD_KAFKA_CONF_OK) out[0] = '\0';
}

static sr_kafka_identity identity_of(rd_kafka_t *rk, identity_buffers *b) {
    const rd_kafka_conf_t *conf = rk ? rd_kafka_conf(rk) : NULL;
    read_setting(conf, "sasl.mechanisms", b->mechanism, sizeof b->mechanism);
    read_setting(conf, "sasl.username", b->username, sizeof b->username);
    read_setting(conf, "ssl.ca.location", b->ca_location, sizeof b->ca_location);
    return (sr_kafka_identity){.mechanism = b->mechanism,
                               .username = b->username, .ca_location = b->ca_location};
}

sr_status sr_kafka_fail(rd_kafka_t *rk, rd_kafka_resp_err_t code, const char *reason,
                        sr_error *err) {
    if (!sr_kafka_error_is_terminal(code, reason))
        return sr_fail(err, SR_ERR_KAFKA, "%s", reason && *reason ? reason : rd_kafka_err2str(code));
    identity_buffers b;
    sr_kafka_identity who = identity_of(rk, &b);
    char message[SR_ERROR_MESSAGE_MAX];
    sr_kafka_describe_terminal(code, reason, &who, message, sizeof message);
    return sr_fail(err, SR_ERR_KAFKA, "%s", message);
}

/* The first terminal error of the process: any client may record it, from
 * whichever thread polls that client. */
static pthread_mutex_t terminal_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool terminal_recorded; /* read without the lock: the loops ask every iteration */
static sr_error terminal;

void sr_kafka_note_error(rd_kafka_t *rk, int code, const char *reason) {
    sr_log(SR_LOG_ERROR, "librdkafka", "[%s] %s: %s", rk ? rd_kafka_name(rk) : "-",
           rd_kafka_err2name((rd_kafka_resp_err_t)code), reason ? reason : "");
    if (!sr_kafka_error_is_terminal((rd_kafka_resp_err_t)code, reason)) return;
    sr_error described;
    sr_kafka_fail(rk, (rd_kafka_resp_err_t)code, reason, &described);
    pthread_mutex_lock(&terminal_lock);
    if (!atomic_load(&terminal_recorded)) terminal = described, atomic_store(&terminal_recorded, true);
    pthread_mutex_unlock(&terminal_lock);
}

sr_status sr_kafka_terminal_error(sr_error *err) {
    if (!atomic_load(&terminal_recorded)) return SR_OK;
    pthread_mutex_lock(&terminal_lock);
    sr_error copy = terminal;
    pthread_mutex_unlock(&terminal_lock);
    if (err) *err = copy;
    return copy.status;
}

/* The error callback: runs inside rd_kafka_poll / consume calls, on the
 * thread that polls the client. */
static void on_error(rd_kafka_t *rk, int code, const char *reason, void *opaque) {
    (void)opaque;
    sr_kafka_note_error(rk, code, reason);
}

void sr_kafka_conf_route_errors(rd_kafka_conf_t *conf) { rd_kafka_conf_set_error_cb(conf, on_error); }
