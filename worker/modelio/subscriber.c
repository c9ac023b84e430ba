/*
 * subscriber.c — the worker's side of the model topic; see sr_model_publish.h.
 *
 * A topic reader (from the beginning, committed records only) feeds every
 * record to an assembler; whatever the assembler rejects is logged with its
 * reason and counted, and the latest verified model stays as it was. Runs on
 * the thread that calls it; no librdkafka callbacks are used.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "modelio/checksum.h"
#include "modelio/model_assembler.h"
#include "modelio/topic_reader.h"
#include "sr_clock.h"
#include "sr_log.h"
#include "sr_model_publish.h"
#include "sr_topics.h"

struct sr_model_subscriber {
    sr_topic_reader *reader;
    model_assembler *assembler;
    sr_model_subscriber_stats stats;
};

sr_status sr_model_subscriber_new(const sr_model_subscriber_options *options,
                                  sr_model_subscriber **out, sr_error *err) {
    const char *bootstrap = options->bootstrap ? options->bootstrap : sr_kafka_default_bootstrap();
    const char *topic = options->topic ? options->topic : SR_TOPIC_MODELS;
    sr_model_subscriber *sub = calloc(1, sizeof *sub);
    if (!sub) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    sr_status s = model_assembler_new(options->max_file_bytes, &sub->assembler, err);
    if (s == SR_OK) s = model_topic_reader_new(bootstrap, options->settings, topic, &sub->reader, err);
    if (s != SR_OK) {
        sr_model_subscriber_free(sub);
        return s;
    }
    *out = sub;
    return SR_OK;
}

static void log_applied(const sr_model_release *r) {
    char sha[65];
    modelio_hex(r->manifest.sha256, sha);
    sr_log(SR_LOG_INFO, "model", "model version %" PRId64 " verified: %zu bytes in %" PRId32
           " chunks, sha256 %s, trainer '%s'", r->manifest.model_version, r->len, r->manifest.chunk_count,
           sha, r->manifest.trainer);
}

static sr_status take_record(sr_model_subscriber *sub, const rd_kafka_message_t *msg, bool *updated,
                             sr_error *err) {
    sub->stats.records++;
    model_offer_result result;
    sr_error why = {0};
    sr_status s = model_assembler_offer(sub->assembler, msg->key, msg->key_len, msg->payload, msg->len, &result,
                                        &why, err);
    if (s != SR_OK) return s;
    if (result == MODEL_OFFER_APPLIED) {
        sub->stats.applied++;
        *updated = true;
        log_applied(model_assembler_latest(sub->assembler));
    } else if (result == MODEL_OFFER_REJECTED) {
        sub->stats.rejected++;
        memcpy(sub->stats.last_rejection, why.message, sizeof why.message);
        sr_log(SR_LOG_WARN, "model", "rejected at offset %" PRId64 " (%s): %s; the current model keeps serving",
               msg->offset, sr_status_name(why.status), why.message);
    }
    return SR_OK;
}

sr_status sr_model_subscriber_poll(sr_model_subscriber *sub, int timeout_ms, bool *updated, sr_error *err) {
    *updated = false;
    int64_t deadline = sr_monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    bool got = false;
    for (;;) {
        int64_t left = deadline - sr_monotonic_ms();
        rd_kafka_message_t *msg;
        sr_status s = sr_topic_reader_poll(sub->reader, left > 0 ? (int)left : 0, &msg, err);
        if (s != SR_OK) return s;
        if (msg) {
            s = take_record(sub, msg, updated, err);
            rd_kafka_message_destroy(msg);
            if (s != SR_OK) return s;
            got = true;
            if (sr_monotonic_ms() >= deadline && timeout_ms > 0) return SR_OK;
            continue;  /* drain what is already fetched */
        }
        /* Past the deadline, or at the end after reading something: done. */
        if (left <= 0 || (got && sr_topic_reader_at_end(sub->reader))) return SR_OK;
    }
}

sr_status sr_model_subscriber_catch_up(sr_model_subscriber *sub, int timeout_ms, sr_error *err) {
    int64_t deadline = sr_monotonic_ms() + timeout_ms;
    bool updated;
    /* At the end already: take whatever has been fetched since, then stop. */
    if (sr_topic_reader_at_end(sub->reader)) return sr_model_subscriber_poll(sub, 0, &updated, err);
    while (!sr_topic_reader_at_end(sub->reader)) {
        int64_t left = deadline - sr_monotonic_ms();
        if (left <= 0)
            return sr_fail(err, SR_ERR_KAFKA, "the model topic's end was not reached within %d ms", timeout_ms);
        sr_status s = sr_model_subscriber_poll(sub, left < 100 ? (int)left : 100, &updated, err);
        if (s != SR_OK) return s;
    }
    return SR_OK;
}

const sr_model_release *sr_model_subscriber_latest(const sr_model_subscriber *sub) {
    return model_assembler_latest(sub->assembler);
}

sr_model_subscriber_stats sr_model_subscriber_get_stats(const sr_model_subscriber *sub) { return sub->stats; }

void sr_model_subscriber_free(sr_model_subscriber *sub) {
    if (!sub) return;
    sr_topic_reader_free(sub->reader);
    model_assembler_free(sub->assembler);
    free(sub);
}
