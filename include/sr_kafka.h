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

#include "sr_error.h"

#define SR_KAFKA_MAX_SETTINGS 64

/* librdkafka properties given by the user, applied after the command's defaults. */
typedef struct sr_kafka_settings {
    const char *keys[SR_KAFKA_MAX_SETTINGS];
    const char *values[SR_KAFKA_MAX_SETTINGS];
    char *storage[SR_KAFKA_MAX_SETTINGS];
    int count;
} sr_kafka_settings;

/* Adds one "key=value" (copied). SR_ERR_CONFIG when it has no '=' or the list is full. */
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
 * of librdkafka's own stderr format. sr_kafka_conf_new does it already; a conf
 * made with rd_kafka_conf_new directly needs this call. The callback runs on
 * librdkafka's internal threads (kafka_log.c). */
void sr_kafka_conf_route_logs(rd_kafka_conf_t *conf);

/* The bootstrap address to use when none is given: $STREAMREC_BOOTSTRAP, or
 * "127.0.0.1:9092". */
const char *sr_kafka_default_bootstrap(void);

#endif
