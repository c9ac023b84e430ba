/*
 * publisher.c — the trainer's side of the model topic; see sr_model_publish.h
 * for the records written and why readers never see a mixed model.
 *
 * The sequence of one publication:
 *   1. sr_model_file_inspect the file (never publish what readers would reject);
 *   2. scan the topic (topic_reader) for the latest manifest's version and the
 *      chunk keys that hold a value; refuse a version that is not newer;
 *   3. [transactional] rd_kafka_begin_transaction;
 *   4. rd_kafka_producev chunk-0 .. chunk-<n-1>, then manifest, then a null
 *      value for every live chunk key >= n (RD_KAFKA_MSG_F_COPY; QUEUE_FULL
 *      waits in rd_kafka_poll and retries);
 *   5. [transactional] rd_kafka_commit_transaction, which flushes; otherwise
 *      rd_kafka_flush; either way within the publication's timeout.
 * Failure classes: a bad file or a stale version (nothing written); a failed
 * delivery or a transaction error that needs an abort (aborted, the publisher
 * stays usable); a fatal producer error (the publisher is dead: every later
 * call fails). Delivery reports run in on_delivery, inside rd_kafka_poll,
 * rd_kafka_flush or rd_kafka_commit_transaction on the publishing thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modelio/checksum.h"
#include "modelio/model_records.h"
#include "modelio/topic_reader.h"
#include "sr_clock.h"
#include "sr_log.h"
#include "sr_model_publish.h"
#include "sr_topics.h"

#define DEFAULT_TIMEOUT_MS 120000
/* Room for a chunk record's fields, key and headers besides its data. */
#define RECORD_OVERHEAD 1024

struct sr_model_publisher {
    rd_kafka_t *producer;
    char *bootstrap;
    const sr_kafka_settings *settings;
    char *topic;
    size_t chunk_max_bytes;
    bool transactional;
    int timeout_ms;
    /* Delivery reports of the current publication. */
    uint64_t failed;
    char first_failure[256];
};

/* On a librdkafka callback, on the publishing thread (see the top). */
static void on_delivery(rd_kafka_t *kafka, const rd_kafka_message_t *message, void *opaque) {
    (void)kafka;
    sr_model_publisher *p = opaque;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (p->failed++ == 0)
        snprintf(p->first_failure, sizeof p->first_failure, "%s", rd_kafka_err2str(message->err));
}

static sr_status build_conf(const sr_model_publisher_options *o, sr_model_publisher *p,
                            rd_kafka_conf_t **out, sr_error *err) {
    rd_kafka_conf_t *conf = NULL;
    sr_status s = sr_kafka_conf_new(NULL, p->bootstrap, &conf, err);
    if (s != SR_OK) return s;
    char txn_id[512];
    snprintf(txn_id, sizeof txn_id, "streamrec-model-publisher-%s", p->topic);
    s = sr_kafka_conf_set(conf, "enable.idempotence", "true", err);
    if (s == SR_OK) s = sr_kafka_conf_set(conf, "linger.ms", "5", err);
    if (s == SR_OK && p->transactional)
        s = sr_kafka_conf_set(conf, "transactional.id", o->transactional_id ? o->transactional_id : txn_id, err);
    if (s == SR_OK) s = sr_kafka_conf_apply(conf, o->settings, err);
    /* A chunk must fit in one message as librdkafka will send it. */
    char value[64];
    size_t size = sizeof value;
    if (s == SR_OK && rd_kafka_conf_get(conf, "message.max.bytes", value, &size) == RD_KAFKA_CONF_OK &&
        strtoull(value, NULL, 10) < p->chunk_max_bytes + RECORD_OVERHEAD)
        s = sr_fail(err, SR_ERR_CONFIG, "chunks of %zu bytes do not fit message.max.bytes=%s; lower the chunk "
                    "size or raise message.max.bytes (and the broker's limit)", p->chunk_max_bytes, value);
    if (s != SR_OK) {
        rd_kafka_conf_destroy(conf);
        return s;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, p);
    *out = conf;
    return SR_OK;
}

/* Turns a transactional API error into a status, freeing it; a refused
 * login, certificate or ACL (sr_kafka.h) is named as such. */
static sr_status txn_failure(sr_model_publisher *p, rd_kafka_error_t *error, const char *what,
                             sr_error *err) {
    rd_kafka_resp_err_t code = rd_kafka_error_code(error);
    rd_kafka_poll(p->producer, 0); /* errors a blocking call left queued */
    sr_status s;
    if (sr_kafka_terminal_error(err) != SR_OK)
        s = sr_error_wrap(err, SR_ERR_KAFKA, "%s", what);
    else if (sr_kafka_error_is_terminal(code, rd_kafka_error_string(error)))
        s = sr_error_wrap(err, sr_kafka_fail(p->producer, code, rd_kafka_error_string(error), err),
                          "%s", what);
    else
        s = sr_fail(err, SR_ERR_KAFKA, "%s: %s%s", what, rd_kafka_error_string(error),
                    rd_kafka_error_is_fatal(error) ? " (fatal: the publisher cannot go on)" : "");
    rd_kafka_error_destroy(error);
    return s;
}

sr_status sr_model_publisher_new(const sr_model_publisher_options *o, sr_model_publisher **out,
                                 sr_error *err) {
    size_t chunk = o->chunk_max_bytes ? o->chunk_max_bytes : SR_MODEL_CHUNK_DEFAULT_BYTES;
    if (chunk < SR_MODEL_CHUNK_MIN_BYTES || chunk > (size_t)INT32_MAX)
        return sr_fail(err, SR_ERR_CONFIG, "chunk size %zu is not in %u..%d", chunk, SR_MODEL_CHUNK_MIN_BYTES,
                       INT32_MAX);
    if (o->timeout_ms < 0) return sr_fail(err, SR_ERR_CONFIG, "timeout %d ms is negative", o->timeout_ms);
    sr_model_publisher *p = calloc(1, sizeof *p);
    if (!p) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    p->bootstrap = strdup(o->bootstrap ? o->bootstrap : sr_kafka_default_bootstrap());
    p->topic = strdup(o->topic ? o->topic : SR_TOPIC_MODELS);
    p->settings = o->settings;
    p->chunk_max_bytes = chunk;
    p->transactional = !o->no_transactions;
    p->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    if (!p->bootstrap || !p->topic) {
        sr_model_publisher_free(p);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    }
    rd_kafka_conf_t *conf;
    sr_status s = build_conf(o, p, &conf, err);
    if (s != SR_OK) {
        sr_model_publisher_free(p);
        return s;
    }
    char reason[512];
    p->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
    if (!p->producer) {
        rd_kafka_conf_destroy(conf);
        sr_model_publisher_free(p);
        return sr_fail(err, SR_ERR_KAFKA, "creating the model publisher: %s", reason);
    }
    if (p->transactional) {
        rd_kafka_error_t *error = rd_kafka_init_transactions(p->producer, p->timeout_ms);
        if (error) {
            s = txn_failure(p, error, "initialising transactions", err);
            sr_model_publisher_free(p);
            return s;
        }
    }
    *out = p;
    return SR_OK;
}

/* What is on the topic now: the latest manifest's version and which chunk
 * keys hold a value (live[i]). */
typedef struct topic_state {
    int64_t published_version;  /* -1: none */
    uint8_t live[SR_MODEL_MAX_CHUNKS];
} topic_state;

static sr_status scan_topic(sr_model_publisher *p, int64_t deadline, topic_state *state, sr_error *err) {
    state->published_version = -1;
    memset(state->live, 0, sizeof state->live);
    sr_topic_reader *reader;
    sr_status s = model_topic_reader_new(p->bootstrap, p->settings, p->topic, &reader, err);
    if (s != SR_OK) return s;
    while (s == SR_OK && !sr_topic_reader_at_end(reader)) {
        int64_t left = deadline - sr_monotonic_ms();
        if (left <= 0) {
            s = sr_fail(err, SR_ERR_KAFKA, "reading model topic '%s' to its end timed out", p->topic);
            break;
        }
        rd_kafka_message_t *msg;
        s = sr_topic_reader_poll(reader, left < 200 ? (int)left : 200, &msg, err);
        if (s != SR_OK || !msg) continue;
        int32_t index;
        sr_model_manifest *manifest;
        switch (model_key_parse(msg->key, msg->key_len, &index)) {
        case MODEL_KEY_CHUNK:
            state->live[index] = msg->payload != NULL;
            break;
        case MODEL_KEY_MANIFEST:
            if (!msg->payload) break;
            if (!(manifest = malloc(sizeof *manifest))) {
                s = sr_fail(err, SR_ERR_NOMEM, "out of memory");
                break;
            }
            sr_error ignored;
            if (model_manifest_decode(msg->payload, msg->len, manifest, &ignored) == SR_OK &&
                manifest->model_version > state->published_version)
                state->published_version = manifest->model_version;
            free(manifest);
            break;
        case MODEL_KEY_OTHER:
            break;
        }
        rd_kafka_message_destroy(msg);
    }
    sr_topic_reader_free(reader);
    return s;
}

/* Queues one record; on a full queue, serves delivery reports and retries. */
static sr_status send_record(sr_model_publisher *p, const char *key, const void *value, size_t len, int64_t deadline,
                      sr_error *err) {
    for (;;) {
        rd_kafka_resp_err_t code = rd_kafka_producev(
            p->producer, RD_KAFKA_V_TOPIC(p->topic), RD_KAFKA_V_PARTITION(0),
            RD_KAFKA_V_KEY((void *)(uintptr_t)key, strlen(key)), RD_KAFKA_V_VALUE((void *)(uintptr_t)value, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (code == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL || sr_monotonic_ms() > deadline)
            return sr_fail(err, SR_ERR_KAFKA, "producing %s to '%s': %s", key, p->topic, rd_kafka_err2str(code));
        rd_kafka_poll(p->producer, 50);
    }
    rd_kafka_poll(p->producer, 0);
    return SR_OK;
}

static sr_status send_chunks(sr_model_publisher *p, const uint8_t *file, size_t len, int64_t version,
                             const uint8_t sha256[32], int32_t count, int64_t deadline, sr_error *err) {
    sr_buffer record = {0};
    sr_status s = SR_OK;
    for (int32_t i = 0; s == SR_OK && i < count; i++) {
        size_t offset = (size_t)i * p->chunk_max_bytes;
        size_t n = len - offset < p->chunk_max_bytes ? len - offset : p->chunk_max_bytes;
        model_chunk_record chunk = {.model_version = version, .chunk_index = i, .chunk_count = count,
                                    .offset = (int64_t)offset, .crc32c = modelio_crc32c(0, file + offset, n),
                                    .data = file + offset, .data_len = n};
        memcpy(chunk.file_sha256, sha256, 32);
        char key[MODEL_CHUNK_KEY_MAX];
        model_chunk_key(i, key);
        sr_buffer_reset(&record);
        s = model_chunk_encode(&chunk, &record, err);
        if (s == SR_OK) s = send_record(p, key, record.data, record.len, deadline, err);
    }
    sr_buffer_free(&record);
    return s;
}

static sr_status send_manifest(sr_model_publisher *p, const sr_model_manifest *m, int64_t deadline,
                               sr_error *err) {
    sr_buffer record = {0};
    sr_status s = model_manifest_encode(m, &record, err);
    if (s == SR_OK) s = send_record(p, MODEL_MANIFEST_KEY, record.data, record.len, deadline, err);
    sr_buffer_free(&record);
    return s;
}

static sr_status send_tombstones(sr_model_publisher *p, const topic_state *state, int32_t count,
                                 int64_t deadline, int32_t *sent, sr_error *err) {
    *sent = 0;
    for (int32_t i = count; i < SR_MODEL_MAX_CHUNKS; i++) {
        if (!state->live[i]) continue;
        char key[MODEL_CHUNK_KEY_MAX];
        model_chunk_key(i, key);
        sr_status s = send_record(p, key, NULL, 0, deadline, err);
        if (s != SR_OK) return s;
        (*sent)++;
    }
    return SR_OK;
}

/* Waits for every delivery (idempotent mode) and checks the reports. */
static sr_status finish_plain(sr_model_publisher *p, int64_t deadline, sr_error *err) {
    while (rd_kafka_outq_len(p->producer) > 0 && sr_monotonic_ms() < deadline)
        rd_kafka_flush(p->producer, 100);
    if (p->failed)
        return sr_fail(err, SR_ERR_KAFKA, "%" PRIu64 " model records failed to be delivered, the first: %s",
                       p->failed, p->first_failure);
    if (rd_kafka_outq_len(p->producer) > 0)
        return sr_fail(err, SR_ERR_KAFKA, "%d model records still undelivered at the timeout",
                       rd_kafka_outq_len(p->producer));
    return SR_OK;
}

static int remaining(int64_t deadline) {
    int64_t left = deadline - sr_monotonic_ms();
    return left > 0 ? (int)left : 1;
}

/* Commits the transaction, retrying what librdkafka says is retriable. */
static sr_status commit(sr_model_publisher *p, int64_t deadline, sr_error *err) {
    for (;;) {
        rd_kafka_error_t *error = rd_kafka_commit_transaction(p->producer, remaining(deadline));
        if (!error) break;
        if (rd_kafka_error_is_retriable(error) && sr_monotonic_ms() < deadline) {
            rd_kafka_error_destroy(error);
            continue;
        }
        return txn_failure(p, error, "committing the model publication", err);
    }
    if (p->failed)  /* cannot happen after a successful commit; kept as a guard */
        return sr_fail(err, SR_ERR_KAFKA, "model records failed to be delivered: %s", p->first_failure);
    return SR_OK;
}

static void abort_quietly(sr_model_publisher *p, int64_t deadline) {
    rd_kafka_error_t *error = rd_kafka_abort_transaction(p->producer, remaining(deadline));
    if (error) {
        sr_log(SR_LOG_WARN, "model", "aborting the model publication: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
}

static void fill_manifest(const sr_model_file_info *info, const uint8_t sha256[32], int32_t count, size_t len,
                          sr_model_manifest *m) {
    memset(m, 0, sizeof *m);
    m->model_version = info->model_version;
    m->created_at_ms = info->meta.created_at_ms;
    m->chunk_count = count;
    m->total_bytes = (int64_t)len;
    memcpy(m->sha256, sha256, 32);
    memcpy(m->trainer, info->meta.note, sizeof m->trainer);
    m->metric_count = info->meta.metric_count;
    memcpy(m->metrics, info->meta.metrics, sizeof m->metrics);
}

typedef struct publication_work {
    sr_model_file_info info;
    topic_state state;
    sr_model_manifest manifest;
} publication_work;

static sr_status publish(sr_model_publisher *p, const uint8_t *file, size_t len, publication_work *w,
                         sr_model_publication *done, sr_error *err) {
    int64_t deadline = sr_monotonic_ms() + p->timeout_ms;
    sr_status s = sr_model_file_inspect(file, len, &w->info, err);
    if (s != SR_OK) return sr_error_wrap(err, s, "refusing to publish");
    size_t count = (len + p->chunk_max_bytes - 1) / p->chunk_max_bytes;
    if (count > SR_MODEL_MAX_CHUNKS)
        return sr_fail(err, SR_ERR_LIMIT, "a %zu-byte model in chunks of %zu bytes makes %zu chunks, more than %d",
                       len, p->chunk_max_bytes, count, SR_MODEL_MAX_CHUNKS);
    if ((s = scan_topic(p, deadline, &w->state, err)) != SR_OK) return s;
    if (w->info.model_version <= w->state.published_version)
        return sr_fail(err, SR_ERR_INVALID_ARG, "model version %" PRId64 " is not above version %" PRId64
                       ", the latest on '%s'", w->info.model_version, w->state.published_version, p->topic);
    uint8_t sha256[32];
    if ((s = modelio_sha256(file, len, sha256, err)) != SR_OK) return s;
    fill_manifest(&w->info, sha256, (int32_t)count, len, &w->manifest);

    p->failed = 0;
    p->first_failure[0] = '\0';
    if (p->transactional) {
        rd_kafka_error_t *error = rd_kafka_begin_transaction(p->producer);
        if (error) return txn_failure(p, error, "beginning the model publication", err);
    }
    int32_t tombstones = 0;
    s = send_chunks(p, file, len, w->info.model_version, sha256, (int32_t)count, deadline, err);
    if (s == SR_OK) s = send_manifest(p, &w->manifest, deadline, err);
    if (s == SR_OK) s = send_tombstones(p, &w->state, (int32_t)count, deadline, &tombstones, err);
    if (p->transactional) {
        if (s == SR_OK) s = commit(p, deadline, err);
        if (s != SR_OK && !rd_kafka_fatal_error(p->producer, NULL, 0)) abort_quietly(p, deadline);
    } else if (s == SR_OK) {
        s = finish_plain(p, deadline, err);
    }
    if (s != SR_OK) return s;
    *done = (sr_model_publication){.model_version = w->info.model_version, .chunk_count = (int32_t)count,
                                   .total_bytes = len, .tombstones = tombstones};
    memcpy(done->sha256, sha256, 32);
    char hex[65];
    modelio_hex(sha256, hex);
    sr_log(SR_LOG_INFO, "model", "published model version %" PRId64 " to '%s': %zu bytes in %zu chunks, "
           "%" PRId32 " stale chunk keys deleted, sha256 %s", w->info.model_version, p->topic, len, count,
           tombstones, hex);
    return SR_OK;
}

sr_status sr_model_publish(sr_model_publisher *p, const void *file, size_t len, sr_model_publication *done,
                           sr_error *err) {
    char reason[256];
    if (rd_kafka_fatal_error(p->producer, reason, sizeof reason))
        return sr_fail(err, SR_ERR_KAFKA, "the model publisher hit a fatal error earlier: %s", reason);
    publication_work *w = malloc(sizeof *w);  /* ~80 KB: not on the stack */
    if (!w) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    sr_model_publication ignored;
    sr_status s = publish(p, file, len, w, done ? done : &ignored, err);
    free(w);
    return s;
}

void sr_model_publisher_free(sr_model_publisher *p) {
    if (!p) return;
    if (p->producer) {
        rd_kafka_flush(p->producer, 5000);
        rd_kafka_destroy(p->producer);
    }
    free(p->bootstrap);
    free(p->topic);
    free(p);
}
