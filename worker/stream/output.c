/*
 * output.c — the worker's producer (output.h): recommendations, dead letters
 * and changelog records, delivery reports, flush, transactions.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "sr_buffer.h"
#include "sr_clock.h"
#include "sr_codec.h"
#include "sr_kafka.h"
#include "sr_log.h"
#include "stream/output.h"

struct stream_output {
    stream_output_options options;
    rd_kafka_t *rk;
    rd_kafka_topic_t *recommendations;
    rd_kafka_topic_t *dead_letters;
    rd_kafka_topic_t *changelog;
    bool transactional;
    uint64_t produced_in_transaction;  /* records queued since the transaction began */
    sr_buffer value;
    stream_output_stats stats;
};

static sr_status start_transactions(stream_output *out, sr_error *err);
static sr_status abort_transaction(stream_output *out, const char *what, const char *why,
                                   sr_error *err);

/* The record's kind and pending time travel in its opaque: the kind in the
 * lowest two bits, the time (ms, non-negative) above them. */
static void *pack_opaque(stream_record_kind kind, int64_t pending_since_ms) {
    uint64_t t = pending_since_ms > 0 ? (uint64_t)pending_since_ms : 0;
    return (void *)(uintptr_t)(t << 2 | (uint64_t)kind);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    stream_output *out = opaque;
    uint64_t packed = (uint64_t)(uintptr_t)msg->_private;
    if (msg->err) {
        /* A record refused for an ACL: the transaction it aborts would be
         * retried forever; the process stops instead (sr_kafka.h). */
        if (sr_kafka_error_is_terminal(msg->err, NULL))
            sr_kafka_note_error(rk, msg->err, rd_kafka_err2str(msg->err));
        if (out->stats.failed++ == 0)
            snprintf(out->stats.first_failure, sizeof out->stats.first_failure,
                     "delivery to %s failed: %s", rd_kafka_topic_name(msg->rkt),
                     rd_kafka_err2str(msg->err));
        if (out->stats.failed <= 10)
            sr_log(SR_LOG_ERROR, "output", "delivery to %s failed: %s",
                   rd_kafka_topic_name(msg->rkt), rd_kafka_err2str(msg->err));
    } else {
        out->stats.delivered++;
    }
    if (out->options.delivered)
        out->options.delivered(out->options.delivered_context, (stream_record_kind)(packed & 3),
                               (int64_t)(packed >> 2), msg->err);
}

/* linger.ms 1: a recommendation's latency budget is tens of ms, and 5 ms
 * (librdkafka's default) was a third of its p50; at the worker's output rates
 * a millisecond still fills batches. */
static const char *const default_settings[][2] = {
    {"enable.idempotence", "true"},
    {"linger.ms", "1"},
    {"compression.type", "lz4"},
};

sr_status stream_output_new(const stream_output_options *options, stream_output **result,
                            sr_error *err) {
    stream_output *out = calloc(1, sizeof *out);
    if (!out) return sr_fail(err, SR_ERR_NOMEM, "output: out of memory");
    out->options = *options;
    rd_kafka_conf_t *conf;
    sr_status status = sr_kafka_conf_new(NULL, options->bootstrap, &conf, err);
    for (size_t i = 0; status == SR_OK && i < sizeof default_settings / sizeof *default_settings; i++)
        status = sr_kafka_conf_set(conf, default_settings[i][0], default_settings[i][1], err);
    if (status == SR_OK && options->client_id)
        status = sr_kafka_conf_set(conf, "client.id", options->client_id, err);
    if (status == SR_OK && options->transactional_id)
        status = sr_kafka_conf_set(conf, "transactional.id", options->transactional_id, err);
    if (status == SR_OK && options->settings)
        status = options->settings(options->settings_context, conf, SR_WORKER_PRODUCER, err);
    if (status != SR_OK) {
        if (conf) rd_kafka_conf_destroy(conf);
        free(out);
        return sr_error_wrap(err, status, "output producer");
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, out);
    char errstr[512];
    out->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!out->rk) {
        rd_kafka_conf_destroy(conf);
        free(out);
        return sr_fail(err, SR_ERR_KAFKA, "output producer: %s", errstr);
    }
    out->recommendations = rd_kafka_topic_new(out->rk, options->recommendations_topic, NULL);
    out->dead_letters = rd_kafka_topic_new(out->rk, options->dead_letter_topic, NULL);
    if (options->changelog_topic)
        out->changelog = rd_kafka_topic_new(out->rk, options->changelog_topic, NULL);
    if (!out->recommendations || !out->dead_letters || (options->changelog_topic && !out->changelog)) {
        stream_output_free(out);
        return sr_fail(err, SR_ERR_KAFKA, "output producer: cannot create topic handles");
    }
    if (options->transactional_id) {
        status = start_transactions(out, err);
        if (status != SR_OK) {
            stream_output_free(out);
            return status;
        }
    }
    *result = out;
    return SR_OK;
}

void stream_output_free(stream_output *out) {
    if (!out) return;
    if (out->recommendations) rd_kafka_topic_destroy(out->recommendations);
    if (out->dead_letters) rd_kafka_topic_destroy(out->dead_letters);
    if (out->changelog) rd_kafka_topic_destroy(out->changelog);
    if (out->rk) rd_kafka_destroy(out->rk);
    sr_buffer_free(&out->value);
    free(out);
}

/* Produces one record, waiting while librdkafka's queue is full: deliveries
 * make room (backpressure), also after a stop was asked for, so that a stop
 * under load still flushes and commits. Only a queue that stays full for
 * queue_full_timeout_ms (a broker that is gone) fails the record. */
static sr_status produce(stream_output *out, rd_kafka_topic_t *topic, int32_t partition,
                         const void *key, size_t key_len, const void *value, size_t value_len,
                         rd_kafka_headers_t *headers, void *opaque, sr_error *err) {
    int64_t deadline = sr_monotonic_ms() + out->options.queue_full_timeout_ms;
    for (;;) {
        rd_kafka_resp_err_t code;
        if (headers) {
            code = rd_kafka_producev(out->rk, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition),
                                     RD_KAFKA_V_KEY((void *)(uintptr_t)key, key_len),
                                     RD_KAFKA_V_VALUE((void *)(uintptr_t)value, value_len),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                     RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque),
                                     RD_KAFKA_V_END);
        } else {
            code = rd_kafka_producev(out->rk, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition),
                                     RD_KAFKA_V_KEY((void *)(uintptr_t)key, key_len),
                                     RD_KAFKA_V_VALUE((void *)(uintptr_t)value, value_len),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                     RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        }
        if (code == RD_KAFKA_RESP_ERR_NO_ERROR) { /* librdkafka owns the headers */
            out->produced_in_transaction++;
            return SR_OK;
        }
        if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL || sr_monotonic_ms() > deadline) {
            if (headers) rd_kafka_headers_destroy(headers);
            char what[320], fatal[256];
            snprintf(what, sizeof what, "producing to %s", rd_kafka_topic_name(topic));
            /* A transaction in its error state refuses records: abortable
             * unless the producer says it is fatal. */
            if (sr_kafka_error_is_terminal(code, NULL)) {
                sr_kafka_fail(out->rk, code, rd_kafka_err2str(code), err);
                return sr_error_wrap(err, SR_ERR_KAFKA, "%s", what);
            }
            if (sr_kafka_terminal_error(err) != SR_OK) return sr_error_wrap(err, SR_ERR_KAFKA, "%s", what);
            if (code == RD_KAFKA_RESP_ERR__STATE && out->transactional &&
                !rd_kafka_fatal_error(out->rk, fatal, sizeof fatal))
                return abort_transaction(out, what, rd_kafka_err2str(code), err);
            return sr_fail(err, SR_ERR_KAFKA, "%s: %s", what, rd_kafka_err2str(code));
        }
        rd_kafka_poll(out->rk, 50);
    }
}

/* A record keyed by its user id in decimal (sr_codec.h); NULL value: a tombstone. */
static sr_status produce_for_user(stream_output *out, rd_kafka_topic_t *topic, int32_t partition,
                                  int64_t user_id, const void *value, size_t value_len,
                                  void *opaque, sr_error *err) {
    char key[24];
    int key_len = snprintf(key, sizeof key, "%" PRId64, user_id);
    return produce(out, topic, partition, key, (size_t)key_len, value, value_len, NULL, opaque, err);
}

sr_status stream_output_recommendation(stream_output *out, const sr_recommendation *rec,
                                       int64_t pending_since_ms, sr_error *err) {
    sr_buffer_reset(&out->value);
    sr_status status = sr_encode_recommendation(rec, &out->value, err);
    if (status != SR_OK) return status;
    status = produce_for_user(out, out->recommendations, RD_KAFKA_PARTITION_UA, rec->user_id,
                              out->value.data, out->value.len,
                              pack_opaque(STREAM_RECOMMENDATION, pending_since_ms), err);
    if (status == SR_OK) out->stats.recommendations++;
    return status;
}

/* Dead-letter headers (all values UTF-8 text, so any tool shows them):
 *   streamrec.error            the status name (sr_status_name), e.g. "truncated"
 *   streamrec.error.message    the one-line reason
 *   streamrec.source.topic     where the record was read
 *   streamrec.source.partition
 *   streamrec.source.offset
 *   streamrec.dead.lettered.at when, ms since the epoch
 * after the record's own headers, which are kept. */
sr_status stream_output_dead_letter(stream_output *out, const rd_kafka_message_t *msg,
                                    const sr_error *why, int64_t now_ms, sr_error *err) {
    rd_kafka_headers_t *original = NULL, *headers;
    if (rd_kafka_message_headers(msg, &original) == RD_KAFKA_RESP_ERR_NO_ERROR && original)
        headers = rd_kafka_headers_copy(original);
    else
        headers = rd_kafka_headers_new(6);
    if (!headers) return sr_fail(err, SR_ERR_NOMEM, "dead letter: out of memory");
    char partition[16], offset[24], at[24];
    snprintf(partition, sizeof partition, "%" PRId32, msg->partition);
    snprintf(offset, sizeof offset, "%" PRId64, msg->offset);
    snprintf(at, sizeof at, "%" PRId64, now_ms);
    rd_kafka_header_add(headers, "streamrec.error", -1, sr_status_name(why->status), -1);
    rd_kafka_header_add(headers, "streamrec.error.message", -1, why->message, -1);
    rd_kafka_header_add(headers, "streamrec.source.topic", -1, rd_kafka_topic_name(msg->rkt), -1);
    rd_kafka_header_add(headers, "streamrec.source.partition", -1, partition, -1);
    rd_kafka_header_add(headers, "streamrec.source.offset", -1, offset, -1);
    rd_kafka_header_add(headers, "streamrec.dead.lettered.at", -1, at, -1);
    sr_status status = produce(out, out->dead_letters, RD_KAFKA_PARTITION_UA, msg->key,
                               msg->key_len, msg->payload, msg->len, headers,
                               pack_opaque(STREAM_DEAD_LETTER, 0), err);
    if (status == SR_OK) out->stats.dead_letters++;
    return status;
}

sr_status stream_output_recommendation_tombstone(stream_output *out, int64_t user_id,
                                                 sr_error *err) {
    return produce_for_user(out, out->recommendations, RD_KAFKA_PARTITION_UA, user_id, NULL, 0,
                            pack_opaque(STREAM_STATE, 0), err);
}

sr_status stream_output_state(stream_output *out, const sr_user_state_record *state,
                              sr_error *err) {
    if (!out->changelog) return sr_fail(err, SR_ERR_INVALID_ARG, "output: no changelog topic");
    sr_buffer_reset(&out->value);
    sr_status status = sr_encode_user_state(state, &out->value, err);
    if (status != SR_OK) return status;
    status = produce_for_user(out, out->changelog, state->source_partition, state->user_id,
                              out->value.data, out->value.len, pack_opaque(STREAM_STATE, 0), err);
    if (status == SR_OK) out->stats.states++;
    return status;
}

sr_status stream_output_tombstone(stream_output *out, int64_t user_id, int32_t partition,
                                  sr_error *err) {
    if (!out->changelog) return sr_fail(err, SR_ERR_INVALID_ARG, "output: no changelog topic");
    sr_status status = produce_for_user(out, out->changelog, partition, user_id, NULL, 0,
                                        pack_opaque(STREAM_STATE, 0), err);
    if (status == SR_OK) out->stats.tombstones++;
    return status;
}

/* ---- transactions ---- */

bool stream_output_transactional(const stream_output *out) { return out->transactional; }

sr_status stream_output_abort(stream_output *out, const char *why, sr_error *err) {
    sr_status status = abort_transaction(out, "partitions lost", why, err);
    return status == SR_ERR_ABORTED ? SR_OK : status;
}

/* Calls op until it succeeds or fails for good: librdkafka says when a
 * transactional call may simply be repeated (a timeout, a coordinator move). */
#define TRANSACTION_ATTEMPTS 5

typedef rd_kafka_error_t *(*transaction_op)(stream_output *out, const void *a, const void *b);

static rd_kafka_error_t *retried(stream_output *out, transaction_op op, const void *a,
                                 const void *b) {
    rd_kafka_error_t *error = NULL;
    for (int attempt = 0; attempt < TRANSACTION_ATTEMPTS; attempt++) {
        if (error) rd_kafka_error_destroy(error);
        error = op(out, a, b);
        if (!error || !rd_kafka_error_is_retriable(error)) break;
        /* A timeout while the broker refuses our login or certificate: the
         * errors wait in the queue the blocking call did not serve. */
        rd_kafka_poll(out->rk, 0);
        if (sr_kafka_terminal_error(NULL) != SR_OK) break;
        sr_log(SR_LOG_WARN, "output", "transaction: %s; trying again", rd_kafka_error_string(error));
    }
    return error;
}

static rd_kafka_error_t *op_init(stream_output *out, const void *a, const void *b) {
    (void)a, (void)b;
    return rd_kafka_init_transactions(out->rk, out->options.transaction_timeout_ms);
}

static rd_kafka_error_t *op_send_offsets(stream_output *out, const void *offsets,
                                         const void *group) {
    return rd_kafka_send_offsets_to_transaction(out->rk, offsets, group,
                                                out->options.transaction_timeout_ms);
}

static rd_kafka_error_t *op_commit(stream_output *out, const void *a, const void *b) {
    (void)a, (void)b;
    return rd_kafka_commit_transaction(out->rk, out->options.transaction_timeout_ms);
}

static rd_kafka_error_t *op_abort(stream_output *out, const void *a, const void *b) {
    (void)a, (void)b;
    return rd_kafka_abort_transaction(out->rk, out->options.transaction_timeout_ms);
}

/* Aborts the open transaction and begins the next: SR_ERR_ABORTED naming
 * what failed and why, or SR_ERR_KAFKA when the abort itself fails. */
static sr_status abort_transaction(stream_output *out, const char *what, const char *why,
                                   sr_error *err) {
    sr_log(SR_LOG_WARN, "output", "%s: %s; aborting the transaction", what, why);
    rd_kafka_error_t *aborted = retried(out, op_abort, NULL, NULL);
    rd_kafka_error_t *begun = aborted ? NULL : rd_kafka_begin_transaction(out->rk);
    sr_status status;
    if (aborted || begun) {
        status = sr_fail(err, SR_ERR_KAFKA, "%s: %s, and the abort failed: %s", what, why,
                         rd_kafka_error_string(aborted ? aborted : begun));
    } else {
        out->stats.aborted++;
        out->produced_in_transaction = 0;
        status = sr_fail(err, SR_ERR_ABORTED, "%s: %s (transaction aborted)", what, why);
    }
    if (aborted) rd_kafka_error_destroy(aborted);
    if (begun) rd_kafka_error_destroy(begun);
    return status;
}

/* SR_ERR_KAFKA naming the cause when the broker refused us for good (a
 * login, a certificate, an ACL: sr_kafka.h), whatever error says about
 * retrying or aborting: a transaction aborted for a missing ACL would be
 * retried forever. Else SR_OK. */
static sr_status refused(stream_output *out, const rd_kafka_error_t *error, sr_error *err) {
    if (sr_kafka_terminal_error(err) != SR_OK) return SR_ERR_KAFKA;
    rd_kafka_resp_err_t code = rd_kafka_error_code(error);
    if (!sr_kafka_error_is_terminal(code, rd_kafka_error_string(error))) return SR_OK;
    return sr_kafka_fail(out->rk, code, rd_kafka_error_string(error), err);
}

/* A failed transactional call: aborts when librdkafka says the transaction
 * must be (SR_ERR_ABORTED), else a fatal error (SR_ERR_KAFKA). Consumes error. */
static sr_status transaction_failed(stream_output *out, rd_kafka_error_t *error, const char *what,
                                    sr_error *err) {
    sr_status status;
    if (refused(out, error, err) != SR_OK) {
        status = sr_error_wrap(err, SR_ERR_KAFKA, "%s", what);
    } else if (rd_kafka_error_txn_requires_abort(error)) {
        status = abort_transaction(out, what, rd_kafka_error_string(error), err);
    } else {
        status = sr_fail(err, SR_ERR_KAFKA, "%s: %s%s", what, rd_kafka_error_string(error),
                         rd_kafka_error_is_fatal(error)
                             ? " (fatal: fenced by a newer instance, or the producer is broken)"
                             : "");
    }
    rd_kafka_error_destroy(error);
    return status;
}

static sr_status start_transactions(stream_output *out, sr_error *err) {
    rd_kafka_error_t *error = retried(out, op_init, NULL, NULL);
    if (!error) error = rd_kafka_begin_transaction(out->rk);
    if (error && refused(out, error, err) != SR_OK) {
        rd_kafka_error_destroy(error);
        return sr_error_wrap(err, SR_ERR_KAFKA, "output producer: starting transactions as '%s'",
                             out->options.transactional_id);
    }
    if (error) {
        sr_status status = sr_fail(err, SR_ERR_KAFKA, "output producer: starting transactions as "
                                   "'%s': %s", out->options.transactional_id,
                                   rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        return status;
    }
    out->transactional = true;
    return SR_OK;
}

sr_status stream_output_commit_transaction(stream_output *out,
                                           const rd_kafka_topic_partition_list_t *offsets,
                                           const rd_kafka_consumer_group_metadata_t *group,
                                           sr_error *err) {
    bool has_offsets = offsets && offsets->cnt > 0;
    if (!has_offsets && out->produced_in_transaction == 0) return SR_OK; /* nothing to commit */
    rd_kafka_error_t *error = NULL;
    if (has_offsets) {
        error = retried(out, op_send_offsets, offsets, group);
        if (error) return transaction_failed(out, error, "sending offsets to the transaction", err);
    }
    error = retried(out, op_commit, NULL, NULL);
    if (error) return transaction_failed(out, error, "committing the transaction", err);
    out->stats.transactions++;
    out->produced_in_transaction = 0;
    error = rd_kafka_begin_transaction(out->rk);
    if (error) return transaction_failed(out, error, "beginning a transaction", err);
    return SR_OK;
}

void stream_output_poll(stream_output *out) { rd_kafka_poll(out->rk, 0); }

sr_status stream_output_flush(stream_output *out, int timeout_ms, bool *drained, sr_error *err) {
    rd_kafka_resp_err_t code = rd_kafka_flush(out->rk, timeout_ms);
    if (drained) *drained = code == RD_KAFKA_RESP_ERR_NO_ERROR;
    else if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
        return sr_fail(err, SR_ERR_KAFKA, "output: %d records still undelivered after %d ms (%s)",
                       rd_kafka_outq_len(out->rk), timeout_ms, rd_kafka_err2str(code));
    if (out->stats.failed)
        return sr_fail(err, SR_ERR_KAFKA, "output: %" PRIu64 " records could not be delivered; %s",
                       out->stats.failed, out->stats.first_failure);
    return SR_OK;
}

stream_output_stats stream_output_get_stats(const stream_output *out) { return out->stats; }

int stream_output_in_flight(const stream_output *out) { return rd_kafka_outq_len(out->rk); }
