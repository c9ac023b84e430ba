/*
 * consumer.c — the worker's group consumer (consumer.h).
 *
 * Processed positions are kept here per partition (the next offset to read)
 * and committed explicitly, so what is committed is exactly what the worker
 * says it processed, never what librdkafka merely fetched.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sr_kafka.h"
#include "sr_log.h"
#include "stream/consumer.h"

typedef struct partition_position {
    bool owned;
    bool pending;        /* processed since the last commit */
    bool kept;           /* revoked cleanly: its users stay if it comes straight back */
    int64_t next;        /* the next offset to read; 0 = nothing processed */
} partition_position;

struct stream_consumer {
    stream_consumer_options options;
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;
    partition_position *positions;
    int32_t position_count;
    int assigned;
    uint64_t deferred_commits;
    sr_status commit_failure;   /* an asynchronous commit's refusal, reported by the next commit */
    sr_error commit_failure_error;
};

static partition_position *position_of(stream_consumer *c, int32_t partition) {
    if (partition < 0) return NULL;
    if (partition >= c->position_count) {
        int32_t n = partition + 1 > 2 * c->position_count ? partition + 1 : 2 * c->position_count;
        partition_position *grown = realloc(c->positions, (size_t)n * sizeof *grown);
        if (!grown) return NULL;
        memset(grown + c->position_count, 0, (size_t)(n - c->position_count) * sizeof *grown);
        c->positions = grown;
        c->position_count = n;
    }
    return &c->positions[partition];
}

static void set_owned(stream_consumer *c, const rd_kafka_topic_partition_list_t *parts, bool owned) {
    for (int i = 0; i < parts->cnt; i++) {
        partition_position *p = position_of(c, parts->elems[i].partition);
        if (!p) continue;
        if (p->owned != owned) c->assigned += owned ? 1 : -1;
        p->owned = owned;
        p->pending = false;
    }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t code,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    stream_consumer *c = opaque;
    if (code == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        sr_log(SR_LOG_INFO, "consumer", "assigned %d partitions of %s", parts->cnt, c->options.topic);
        /* A partition revoked cleanly that comes straight back resumes where
         * this worker's states are (they are kept: worker.c), not at the
         * committed offset, which lags when the revocation's commit was
         * refused (a coordinator mid-rebalance): no event is applied twice. */
        for (int i = 0; i < parts->cnt; i++) {
            partition_position *p = position_of(c, parts->elems[i].partition);
            if (p && p->kept && p->next > 0) parts->elems[i].offset = p->next;
        }
        for (int32_t i = 0; i < c->position_count; i++) c->positions[i].kept = false;
        rd_kafka_assign(rk, parts);
        set_owned(c, parts, true);
        if (c->options.hooks.assigned) c->options.hooks.assigned(c->options.hooks.context, parts);
    } else {
        sr_log(SR_LOG_INFO, "consumer", "revoking %d partitions of %s (%s)", parts->cnt,
               c->options.topic, rd_kafka_err2name(code));
        bool lost = rd_kafka_assignment_lost(rk), committed = !lost;
        if (c->options.hooks.revoking)
            committed = c->options.hooks.revoking(c->options.hooks.context, parts, lost) && !lost;
        set_owned(c, parts, false);
        for (int i = 0; i < parts->cnt; i++) {
            partition_position *p = position_of(c, parts->elems[i].partition);
            if (p) p->kept = committed, p->next = committed ? p->next : 0;
        }
        rd_kafka_assign(rk, NULL);
    }
}

static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
    (void)rk;
    stream_consumer *c = opaque;
    if (c->options.hooks.statistics) c->options.hooks.statistics(c->options.hooks.context, json, len);
    return 0; /* librdkafka frees json */
}

static const char *const default_settings[][2] = {
    {"enable.auto.commit", "false"},
    {"enable.auto.offset.store", "false"},
    {"auto.offset.reset", "earliest"},
    {"isolation.level", "read_committed"},
    {"statistics.interval.ms", "5000"},
    {"partition.assignment.strategy", "range,roundrobin"},
    /* librdkafka (2.0.2) stops fetching a partition once its local queue
     * holds queued.min.messages (default 100,000) and comes back only after
     * a backoff: a worker that drains slower than a fetch brings then idles,
     * measured at 120 k events/s on one partition against 430 k with this
     * (queued.max.messages.kbytes still bounds the memory: 64 MB). */
    {"queued.min.messages", "1000000"},
};

sr_status stream_consumer_new(const stream_consumer_options *options, stream_consumer **out,
                              sr_error *err) {
    stream_consumer *c = calloc(1, sizeof *c);
    if (!c) return sr_fail(err, SR_ERR_NOMEM, "consumer: out of memory");
    c->options = *options;
    rd_kafka_conf_t *conf = NULL;
    sr_status status = sr_kafka_conf_new(NULL, options->bootstrap, &conf, err);
    for (size_t i = 0; status == SR_OK && i < sizeof default_settings / sizeof *default_settings; i++)
        status = sr_kafka_conf_set(conf, default_settings[i][0], default_settings[i][1], err);
    if (status == SR_OK) status = sr_kafka_conf_set(conf, "group.id", options->group_id, err);
    if (status == SR_OK && options->group_instance_id && *options->group_instance_id)
        status = sr_kafka_conf_set(conf, "group.instance.id", options->group_instance_id, err);
    if (status == SR_OK && options->client_id)
        status = sr_kafka_conf_set(conf, "client.id", options->client_id, err);
    if (status == SR_OK && options->settings)
        status = options->settings(options->settings_context, conf, SR_WORKER_CONSUMER, err);
    if (status != SR_OK) {
        if (conf) rd_kafka_conf_destroy(conf);
        free(c);
        return sr_error_wrap(err, status, "event consumer");
    }
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    rd_kafka_conf_set_opaque(conf, c);
    char errstr[512];
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!c->rk) {
        rd_kafka_conf_destroy(conf);
        free(c);
        return sr_fail(err, SR_ERR_KAFKA, "event consumer: %s", errstr);
    }
    rd_kafka_poll_set_consumer(c->rk);
    c->queue = rd_kafka_queue_get_consumer(c->rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, options->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t code = rd_kafka_subscribe(c->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (code) {
        stream_consumer_close(c);
        return sr_fail(err, SR_ERR_KAFKA, "subscribing to %s: %s", options->topic, rd_kafka_err2str(code));
    }
    *out = c;
    return SR_OK;
}

size_t stream_consumer_poll(stream_consumer *c, int timeout_ms, rd_kafka_message_t **records,
                            size_t max) {
    /* What is there now, without waiting: a batch call with a timeout would
     * wait for a full batch, holding back a quiet stream's events. Only when
     * nothing is there, wait for the first record. */
    ssize_t n = rd_kafka_consume_batch_queue(c->queue, 0, records, max);
    if (n == 0 && timeout_ms > 0) {
        n = rd_kafka_consume_batch_queue(c->queue, timeout_ms, records, 1);
        if (n == 1 && max > 1) {
            ssize_t more = rd_kafka_consume_batch_queue(c->queue, 0, records + 1, max - 1);
            if (more > 0) n += more;
        }
    }
    return n > 0 ? (size_t)n : 0;
}

sr_status stream_consumer_refused(stream_consumer *c, const rd_kafka_message_t *msg, sr_error *err) {
    const char *reason = rd_kafka_message_errstr(msg);
    if (!sr_kafka_error_is_terminal(msg->err, reason)) return SR_OK;
    return sr_kafka_fail(c->rk, msg->err, reason, err);
}

bool stream_consumer_owns(const stream_consumer *c, int32_t partition) {
    return partition >= 0 && partition < c->position_count && c->positions[partition].owned;
}

int stream_consumer_assigned_count(const stream_consumer *c) { return c->assigned; }

void stream_consumer_processed(stream_consumer *c, int32_t partition, int64_t offset) {
    partition_position *p = position_of(c, partition);
    if (!p || !p->owned) return;
    p->next = offset + 1;
    p->pending = true;
}

rd_kafka_topic_partition_list_t *stream_consumer_pending_offsets(const stream_consumer *c) {
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);
    for (int32_t i = 0; list && i < c->position_count; i++)
        if (c->positions[i].owned && c->positions[i].pending)
            rd_kafka_topic_partition_list_add(list, c->options.topic, i)->offset = c->positions[i].next;
    return list;
}

void stream_consumer_offsets_committed(stream_consumer *c,
                                       const rd_kafka_topic_partition_list_t *offsets) {
    for (int i = 0; i < offsets->cnt; i++) {
        partition_position *p = position_of(c, offsets->elems[i].partition);
        /* Processed further meanwhile: still pending from there. */
        if (p && p->next == offsets->elems[i].offset) p->pending = false;
    }
}

rd_kafka_consumer_group_metadata_t *stream_consumer_group_metadata(stream_consumer *c) {
    return rd_kafka_consumer_group_metadata(c->rk);
}

/* What a commit's result means, for a synchronous and an asynchronous one
 * alike: committed offsets are marked; a group that is moving partitions is
 * no reason to stop (the revocation that follows commits what is still ours,
 * and what is not is processed again by its new owner: at-least-once). */
static sr_status commit_result(stream_consumer *c, rd_kafka_resp_err_t code,
                               const rd_kafka_topic_partition_list_t *offsets, sr_error *err) {
    switch (code) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        stream_consumer_offsets_committed(c, offsets);
        return SR_OK;
    case RD_KAFKA_RESP_ERR__NO_OFFSET:
        return SR_OK;
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
    case RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST:
        c->deferred_commits++;
        sr_log(SR_LOG_INFO, "consumer", "commit deferred: %s", rd_kafka_err2str(code));
        return SR_OK;
    default:
        return sr_fail(err, SR_ERR_KAFKA, "committing offsets of %s: %s", c->options.topic,
                       rd_kafka_err2str(code));
    }
}

/* An asynchronous commit's result, served by the consume calls. */
static void on_commit_sent(rd_kafka_t *rk, rd_kafka_resp_err_t code,
                           rd_kafka_topic_partition_list_t *offsets, void *opaque) {
    (void)rk;
    stream_consumer *c = opaque;
    sr_error err;
    if (commit_result(c, code, offsets, &err) != SR_OK && c->commit_failure == SR_OK) {
        c->commit_failure = err.status;
        c->commit_failure_error = err;
    }
}

sr_status stream_consumer_commit(stream_consumer *c, bool wait, int *committed, sr_error *err) {
    *committed = 0;
    if (c->commit_failure != SR_OK) {
        *err = c->commit_failure_error;
        return c->commit_failure;
    }
    rd_kafka_topic_partition_list_t *list = stream_consumer_pending_offsets(c);
    if (!list) return sr_fail(err, SR_ERR_NOMEM, "committing offsets: out of memory");
    sr_status status = SR_OK;
    if (list->cnt && wait) {
        status = commit_result(c, rd_kafka_commit(c->rk, list, 0), list, err);
    } else if (list->cnt) {
        /* The result comes back on the consumer's queue (on_commit_sent). */
        rd_kafka_resp_err_t code = rd_kafka_commit_queue(c->rk, list, c->queue, on_commit_sent, c);
        if (code != RD_KAFKA_RESP_ERR_NO_ERROR) status = commit_result(c, code, list, err);
    }
    if (status == SR_OK) *committed = list->cnt;
    rd_kafka_topic_partition_list_destroy(list);
    return status;
}

sr_status stream_consumer_rewind(stream_consumer *c, int32_t *partitions, size_t *n,
                                 sr_error *err) {
    *n = 0;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(c->assigned + 1);
    if (!list) return sr_fail(err, SR_ERR_NOMEM, "rewind: out of memory");
    for (int32_t i = 0; i < c->position_count; i++)
        if (c->positions[i].owned) rd_kafka_topic_partition_list_add(list, c->options.topic, i);
    rd_kafka_resp_err_t code = rd_kafka_committed(c->rk, list, 10000);
    for (int i = 0; code == RD_KAFKA_RESP_ERR_NO_ERROR && i < list->cnt; i++) {
        if (list->elems[i].err) code = list->elems[i].err;
        /* Nothing committed yet: from the start, as auto.offset.reset would. */
        if (list->elems[i].offset < 0) list->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_error_t *error = rd_kafka_seek_partitions(c->rk, list, 10000);
        if (error) {
            sr_status status = sr_fail(err, SR_ERR_KAFKA, "rewinding %s: %s", c->options.topic,
                                       rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
            rd_kafka_topic_partition_list_destroy(list);
            return status;
        }
        for (int i = 0; i < list->cnt; i++) {
            if (list->elems[i].err) code = list->elems[i].err;
            partition_position *p = position_of(c, list->elems[i].partition);
            p->pending = false;
            p->next = list->elems[i].offset >= 0 ? list->elems[i].offset : 0;
            partitions[(*n)++] = list->elems[i].partition;
        }
    }
    rd_kafka_topic_partition_list_destroy(list);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
        return sr_fail(err, SR_ERR_KAFKA, "rewinding %s to its committed offsets: %s",
                       c->options.topic, rd_kafka_err2str(code));
    return SR_OK;
}

void stream_consumer_close(stream_consumer *c) {
    if (!c) return;
    if (c->queue) rd_kafka_queue_destroy(c->queue);
    if (c->rk) {
        rd_kafka_consumer_close(c->rk);
        rd_kafka_destroy(c->rk);
    }
    free(c->positions);
    free(c);
}
