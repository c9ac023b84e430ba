/*
 * producer.c — the replay's idempotent Kafka producer; see producer.h.
 *
 * The sequence: rd_kafka_new with the conf, rd_kafka_producev per record
 * (RD_KAFKA_MSG_F_COPY, so the caller's buffers can be reused at once), a
 * rd_kafka_poll(0) after each to run delivery callbacks, rd_kafka_flush at the
 * end. Failure classes: QUEUE_FULL (wait in poll and retry: back-pressure, not
 * an error), a failed delivery report (counted, first reason kept; the caller
 * fails the run at the end), a fatal error of the idempotent producer (sends
 * stop at once: librdkafka can no longer keep its ordering guarantee).
 */
#include "producer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct replay_producer {
    rd_kafka_t *kafka;
    char *topic;
    replay_delivery delivery;
};

static const char *const default_settings[][2] = {
    {"enable.idempotence", "true"},
    {"linger.ms", "20"},
    {"batch.size", "1000000"},
    {"compression.type", "lz4"},
    {"queue.buffering.max.kbytes", "262144"},
};

/* Stops the sends for good with why (the first reason is kept). */
static void stop_sending(replay_producer *p, const char *why) {
    p->delivery.fatal = true;
    if (!p->delivery.first_failure[0])
        snprintf(p->delivery.first_failure, sizeof p->delivery.first_failure, "%s", why);
}

/* On a librdkafka callback, inside poll/flush on the calling thread. A
 * record refused for an ACL stops the sends: every other one would be too. */
static void on_delivery(rd_kafka_t *kafka, const rd_kafka_message_t *message, void *opaque) {
    replay_producer *p = opaque;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        p->delivery.delivered++;
        return;
    }
    if (sr_kafka_error_is_terminal(message->err, NULL)) {
        sr_error refused;
        sr_kafka_fail(kafka, message->err, rd_kafka_err2str(message->err), &refused);
        stop_sending(p, refused.message);
    }
    if (p->delivery.failed++ == 0 && !p->delivery.first_failure[0])
        snprintf(p->delivery.first_failure, sizeof p->delivery.first_failure, "%s",
                 rd_kafka_err2str(message->err));
}

/* On a librdkafka callback, inside poll/flush on the calling thread. Errors
 * are logged; those retrying cannot fix (a refused login or certificate:
 * sr_kafka.h) and fatal ones stop the sends; the others (a broker going
 * away and coming back) are retried by librdkafka. */
static void on_error(rd_kafka_t *kafka, int code, const char *reason, void *opaque) {
    replay_producer *p = opaque;
    sr_kafka_note_error(kafka, code, reason);
    sr_error refused;
    if (sr_kafka_terminal_error(&refused) != SR_OK) stop_sending(p, refused.message);
    if (code != RD_KAFKA_RESP_ERR__FATAL) return;
    char fatal[256];
    rd_kafka_fatal_error(kafka, fatal, sizeof fatal);
    sr_error message;  /* formats with truncation, which is what is wanted here */
    sr_fail(&message, SR_ERR_KAFKA, "fatal: %s (%s)", fatal, reason);
    stop_sending(p, message.message);
}

static sr_status build_conf(const char *bootstrap, const sr_kafka_settings *settings,
                            replay_producer *p, rd_kafka_conf_t **out, sr_error *err) {
    rd_kafka_conf_t *conf;
    sr_status status = sr_kafka_conf_new(NULL, bootstrap, &conf, err);
    if (status != SR_OK) return status;
    size_t n = sizeof default_settings / sizeof default_settings[0];
    for (size_t i = 0; status == SR_OK && i < n; i++)
        status = sr_kafka_conf_set(conf, default_settings[i][0], default_settings[i][1], err);
    if (status == SR_OK) status = sr_kafka_conf_apply(conf, settings, err);
    if (status != SR_OK) {
        rd_kafka_conf_destroy(conf);
        return status;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_opaque(conf, p);
    *out = conf;
    return SR_OK;
}

sr_status replay_producer_new(const char *bootstrap, const sr_kafka_settings *settings,
                              const char *topic, replay_producer **out, sr_error *err) {
    replay_producer *p = calloc(1, sizeof *p);
    if (!p || !(p->topic = strdup(topic))) {
        free(p);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    }
    rd_kafka_conf_t *conf;
    sr_status status = build_conf(bootstrap, settings, p, &conf, err);
    if (status != SR_OK) {
        replay_producer_free(p);
        return status;
    }
    char reason[512];
    p->kafka = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
    if (!p->kafka) {
        rd_kafka_conf_destroy(conf);  /* only rd_kafka_new's success takes it */
        replay_producer_free(p);
        return sr_fail(err, SR_ERR_KAFKA, "creating the producer: %s", reason);
    }
    *out = p;
    return SR_OK;
}

static rd_kafka_resp_err_t produce(replay_producer *p, const void *key, size_t key_len,
                                   const void *value, size_t value_len) {
    return rd_kafka_producev(p->kafka, RD_KAFKA_V_TOPIC(p->topic),
                             RD_KAFKA_V_KEY((void *)(uintptr_t)key, key_len),
                             RD_KAFKA_V_VALUE((void *)(uintptr_t)value, value_len),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
}

sr_status replay_producer_send(replay_producer *p, const void *key, size_t key_len,
                               const void *value, size_t value_len,
                               const volatile sig_atomic_t *stops, bool *queued, sr_error *err) {
    *queued = false;
    for (;;) {
        if (stops && *stops) return SR_OK;
        if (p->delivery.fatal)
            return sr_fail(err, SR_ERR_KAFKA, "producer stopped: %s", p->delivery.first_failure);
        rd_kafka_resp_err_t code = produce(p, key, key_len, value, value_len);
        if (code == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return sr_fail(err, SR_ERR_KAFKA, "producing to %s: %s", p->topic,
                           rd_kafka_err2str(code));
        rd_kafka_poll(p->kafka, 50);  /* back-pressure: let deliveries drain the queue */
    }
    *queued = true;
    rd_kafka_poll(p->kafka, 0);
    return SR_OK;
}

void replay_producer_poll(replay_producer *p, int timeout_ms) {
    rd_kafka_poll(p->kafka, timeout_ms);
}

sr_status replay_producer_flush(replay_producer *p, int timeout_ms,
                                const volatile sig_atomic_t *stops, sr_error *err) {
    /* In short slices, so that a second stop signal is seen within 100 ms. */
    int waited = 0;
    while (rd_kafka_outq_len(p->kafka) > 0 && waited < timeout_ms && !(stops && *stops >= 2) &&
           !p->delivery.fatal) {
        int slice = timeout_ms - waited < 100 ? timeout_ms - waited : 100;
        rd_kafka_flush(p->kafka, slice);
        waited += slice;
    }
    int left = rd_kafka_outq_len(p->kafka);
    if (p->delivery.fatal)
        return sr_fail(err, SR_ERR_KAFKA, "producer stopped: %s", p->delivery.first_failure);
    if (left > 0)
        return sr_fail(err, SR_ERR_KAFKA, "%d records still undelivered after %d ms%s", left,
                       waited, stops && *stops >= 2 ? " (flush cut short by a second signal)" : "");
    return SR_OK;
}

replay_delivery replay_producer_delivery(const replay_producer *p) { return p->delivery; }

void replay_producer_free(replay_producer *p) {
    if (!p) return;
    if (p->kafka) rd_kafka_destroy(p->kafka);
    free(p->topic);
    free(p);
}
