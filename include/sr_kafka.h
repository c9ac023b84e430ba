/*
 * sr_kafka.h — building librdkafka configurations the same way in every command.
 *
 * Every command accepts `--bootstrap HOST:PORT` and any number of
 * `-X key=value` options passed to librdkafka as they are (its CONFIGURATION.md),
 * so that security, tuning and debugging settings need no code here.
 *
 *     sr_kafka_settings settings = {0};
 *     sr_kafka_settings_add(&settings, "linger.ms=5", &err);
 *     rd_kafka_conf_t *conf;
 *     sr_kafka_conf_new(&settings, "127.0.0.1:9092", &conf, &err);
 */
#ifndef SR_KAFKA_H
#define SR_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

#include "sr_error.h"

#define SR_KAFKA_MAX_SETTINGS 64

/* librdkafka properties given by the user, applied after the command's defaults. */
typedef struct sr_kafka_settings {
    const char *keys[SR_KAFKA_MAX_SETTINGS];
    const char *values[SR_KAFKA_MAX_SETTINGS];
    char *storage[SR_KAFKA_MAX_SETTINGS];
    int count;
} sr_kafka_settings;

/* Adds one "key=value" (copied). SR_ERR_CONFIG when it has no '=' or the list is full.
 * "PROP.file=PATH" adds PROP with the content of the file PATH (see
 * sr_kafka_read_secret_file), so that a secret need not be on the command line. */
sr_status sr_kafka_settings_add(sr_kafka_settings *settings, const char *assignment,
                                sr_error *err);
void sr_kafka_settings_free(sr_kafka_settings *settings);

/* A new librdkafka configuration: librdkafka's logs routed to sr_log
 * (sr_kafka_conf_route_logs), bootstrap.servers (if not NULL), then the
 * settings; a key librdkafka rejects fails with SR_ERR_CONFIG naming it. */
sr_status sr_kafka_conf_new(const sr_kafka_settings *settings, const char *bootstrap,
                            rd_kafka_conf_t **out, sr_error *err);

/* Applies the user's settings to conf (after the command's own defaults, so
 * that the user has the last word). */
sr_status sr_kafka_conf_apply(rd_kafka_conf_t *conf, const sr_kafka_settings *settings,
                              sr_error *err);

/* Sets one property on conf, failing with SR_ERR_CONFIG naming the key. */
sr_status sr_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value,
                            sr_error *err);

/* Makes every client created from conf log through sr_log (one JSON object
 * per line, component "librdkafka", the client's name in the message) instead
 * of librdkafka's own stderr format, and report its errors through
 * sr_kafka_conf_route_errors. sr_kafka_conf_new does it already; a conf
 * made with rd_kafka_conf_new directly needs this call. The log callback runs
 * on librdkafka's internal threads (kafka_log.c). */
void sr_kafka_conf_route_logs(rd_kafka_conf_t *conf);

/* ---- Secrets from files ----
 *
 * Any librdkafka property can be given as PROP.file=PATH (-X
 * sasl.password.file=/var/run/secrets/kafka/password, or the worker's
 * kafka.sasl.password.file, STREAMREC_KAFKA_SASL_PASSWORD_FILE): PROP gets
 * the file's content, read once at startup, one trailing newline (LF or CRLF)
 * removed. librdkafka has no property whose name ends in ".file". */

/* True when property ends in ".file" (and is longer than that); *base_len
 * then receives the length of PROP. */
bool sr_kafka_is_file_property(const char *property, size_t *base_len);

/* Reads the secret for key from path into a new string (*value, caller
 * frees). SR_ERR_IO naming the key and the file when it cannot be read,
 * SR_ERR_CONFIG when it is empty, holds a NUL or is over 64 KB. The content
 * never appears in a message. */
sr_status sr_kafka_read_secret_file(const char *key, const char *path, char **value,
                                    sr_error *err);

/* ---- Terminal errors (kafka_errors.c) ----
 *
 * A wrong password, an untrusted broker certificate or a missing ACL never
 * heals by retrying, but librdkafka retries forever. These helpers let every
 * client stop instead, with a message naming the cause:
 *
 *     if (msg->err && sr_kafka_error_is_terminal(msg->err, rd_kafka_message_errstr(msg)))
 *         return sr_kafka_fail(rk, msg->err, rd_kafka_message_errstr(msg), err);
 *     ...
 *     if (sr_kafka_terminal_error(err) != SR_OK) return err->status;  // in a poll loop
 */

/* True for the errors retrying cannot fix: SASL authentication failures,
 * authorization failures (topic, group, cluster, transactional id) and TLS
 * failures whose reason mentions the certificate. */
bool sr_kafka_error_is_terminal(rd_kafka_resp_err_t code, const char *reason);

/* Who a client connects as, for messages; NULL or "" members show as
 * "(not set)". Never holds a secret. */
typedef struct sr_kafka_identity {
    const char *mechanism;    /* sasl.mechanisms */
    const char *username;     /* sasl.username */
    const char *ca_location;  /* ssl.ca.location */
} sr_kafka_identity;

/* The message for a terminal error: "Kafka authentication failed (SASL
 * SCRAM-SHA-512 as 'alice'): <reason>; check ...", "Kafka TLS failed: ...",
 * "Kafka authorization failed for 'alice' (TOPIC_AUTHORIZATION_FAILED): ...". */
void sr_kafka_describe_terminal(rd_kafka_resp_err_t code, const char *reason,
                                const sr_kafka_identity *who, char *out, size_t size);

/* Fills err with SR_ERR_KAFKA: the sr_kafka_describe_terminal message (the
 * identity read from rk's configuration, rk may be NULL) for a terminal
 * error, else reason as it is. Returns SR_ERR_KAFKA. */
sr_status sr_kafka_fail(rd_kafka_t *rk, rd_kafka_resp_err_t code, const char *reason,
                        sr_error *err);

/* Logs an error librdkafka reported through its error callback and, when it
 * is terminal, keeps it as the process's terminal error (the first one
 * wins). The callback sr_kafka_conf_route_errors installs calls it; a client
 * with an error callback of its own calls it first. Any thread. */
void sr_kafka_note_error(rd_kafka_t *rk, int code, const char *reason);

/* SR_OK, or the process's terminal error (SR_ERR_KAFKA, copied into err):
 * once a client has reported one, the command is to stop. Any thread. */
sr_status sr_kafka_terminal_error(sr_error *err);

/* Installs the error callback that calls sr_kafka_note_error (runs inside
 * the calls that poll the client, on their thread). sr_kafka_conf_route_logs
 * does it already. */
void sr_kafka_conf_route_errors(rd_kafka_conf_t *conf);

/* The bootstrap address to use when none is given: $STREAMREC_BOOTSTRAP, or
 * "127.0.0.1:9092". */
const char *sr_kafka_default_bootstrap(void);

#endif
