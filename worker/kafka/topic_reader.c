/*
 * topic_reader.c — every partition of one topic, assigned by hand; see
 * sr_topic_reader.h.
 *
 * librdkafka reports RD_KAFKA_RESP_ERR__PARTITION_EOF each time a partition
 * reaches its end (again after new records arrive). A partition counts as
 * caught up from its first such report on, whatever arrives later: on a live
 * topic, "every partition at its end at the same moment" may never happen, and
 * a reader replaying history (the trainer) must finish.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_log.h"
#include "sr_topic_reader.h"

struct sr_topic_reader {
    rd_kafka_t *consumer;
    int partition_count;
    int partitions_at_end;
    int max_partition_id;
    bool *at_end;            /* by partition id: has reached its end once */
};

static sr_status open_consumer(const sr_topic_reader_options *options, rd_kafka_t **out,
                               sr_error *err) {
    rd_kafka_conf_t *conf;
    const char *bootstrap = options->bootstrap ? options->bootstrap : sr_kafka_default_bootstrap();
    sr_status status = sr_kafka_conf_new(NULL, bootstrap, &conf, err);
    if (status != SR_OK) return status;
    /* Never joined (we assign), but librdkafka wants a group id for a consumer. */
    static const char *const defaults[][2] = {
        {"group.id", "streamrec-topic-reader"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"isolation.level", "read_committed"},
    };
    for (size_t i = 0; status == SR_OK && i < sizeof defaults / sizeof defaults[0]; i++)
        status = sr_kafka_conf_set(conf, defaults[i][0], defaults[i][1], err);
    if (status == SR_OK && options->end_wait_ms > 0) {
        char wait[16];
        snprintf(wait, sizeof wait, "%d", options->end_wait_ms);
        status = sr_kafka_conf_set(conf, "fetch.wait.max.ms", wait, err);
    }
    if (status == SR_OK) status = sr_kafka_conf_apply(conf, options->settings, err);
    /* After the user's settings: the end of each partition must be reported. */
    if (status == SR_OK) status = sr_kafka_conf_set(conf, "enable.partition.eof", "true", err);
    if (status != SR_OK) {
        rd_kafka_conf_destroy(conf);
        return status;
    }
    char errstr[512];
    *out = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!*out) {
        rd_kafka_conf_destroy(conf);
        return sr_fail(err, SR_ERR_KAFKA, "creating a consumer: %s", errstr);
    }
    rd_kafka_poll_set_consumer(*out);
    return SR_OK;
}

/* The process's terminal error (sr_kafka.h), once the errors the consumer
 * has queued were served: a blocking call such as rd_kafka_metadata leaves
 * them queued. Nothing is assigned yet, so the poll returns no record. */
static sr_status connection_refused(rd_kafka_t *consumer, sr_error *err) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 0);
    if (m) rd_kafka_message_destroy(m);
    return sr_kafka_terminal_error(err);
}

static bool wanted(const sr_topic_reader_options *options, int32_t partition) {
    if (!options->partitions) return true;
    for (size_t i = 0; i < options->partitions_count; i++)
        if (options->partitions[i] == partition) return true;
    return false;
}

/* Finds the topic's partitions and assigns them all (or those asked for). */
static sr_status assign_all(sr_topic_reader *reader, const sr_topic_reader_options *options,
                            sr_error *err) {
    int timeout = options->metadata_timeout_ms > 0 ? options->metadata_timeout_ms : 10000;
    rd_kafka_topic_t *topic = rd_kafka_topic_new(reader->consumer, options->topic, NULL);
    if (!topic) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rc = rd_kafka_metadata(reader->consumer, 0, topic, &md, timeout);
    rd_kafka_topic_destroy(topic);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* No broker answered: a refused login or certificate says why. */
        if (connection_refused(reader->consumer, err) != SR_OK)
            return sr_error_wrap(err, err->status, "topic '%s'", options->topic);
        return sr_fail(err, SR_ERR_KAFKA, "metadata for topic '%s': %s", options->topic,
                       rd_kafka_err2str(rc));
    }
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
        rc = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
        rd_kafka_metadata_destroy(md);
        if (sr_kafka_error_is_terminal(rc, NULL)) {
            sr_kafka_fail(reader->consumer, rc, rd_kafka_err2str(rc), err);
            return sr_error_wrap(err, SR_ERR_KAFKA, "topic '%s'", options->topic);
        }
        return sr_fail(err, SR_ERR_NOT_FOUND, "topic '%s': %s", options->topic,
                       rd_kafka_err2str(rc ? rc : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
    }
    const struct rd_kafka_metadata_topic *t = &md->topics[0];
    int max_id = 0;
    for (int i = 0; i < t->partition_cnt; i++)
        if (t->partitions[i].id > max_id) max_id = t->partitions[i].id;
    reader->partition_count = t->partition_cnt;
    reader->max_partition_id = max_id;
    reader->at_end = calloc((size_t)max_id + 1, sizeof *reader->at_end);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(t->partition_cnt);
    if (!reader->at_end || !list) {
        rd_kafka_metadata_destroy(md);
        if (list) rd_kafka_topic_partition_list_destroy(list);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < t->partition_cnt; i++)
        if (wanted(options, t->partitions[i].id))
            rd_kafka_topic_partition_list_add(list, options->topic, t->partitions[i].id)->offset =
                options->from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    rd_kafka_metadata_destroy(md);
    if (options->partitions && (size_t)list->cnt != options->partitions_count) {
        rd_kafka_topic_partition_list_destroy(list);
        return sr_fail(err, SR_ERR_NOT_FOUND, "topic '%s' has %d partitions: not all of the %zu "
                       "asked for exist", options->topic, reader->partition_count,
                       options->partitions_count);
    }
    reader->partition_count = list->cnt;
    rc = rd_kafka_assign(reader->consumer, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR)
        return sr_fail(err, SR_ERR_KAFKA, "assigning '%s': %s", options->topic, rd_kafka_err2str(rc));
    return SR_OK;
}

sr_status sr_topic_reader_new(const sr_topic_reader_options *options, sr_topic_reader **out,
                              sr_error *err) {
    sr_topic_reader *reader = calloc(1, sizeof *reader);
    if (!reader) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    sr_status status = open_consumer(options, &reader->consumer, err);
    if (status == SR_OK) status = assign_all(reader, options, err);
    if (status != SR_OK) {
        sr_topic_reader_free(reader);
        return status;
    }
    *out = reader;
    return SR_OK;
}

static void mark_at_end(sr_topic_reader *reader, int32_t partition) {
    if (partition < 0 || partition > reader->max_partition_id || reader->at_end[partition]) return;
    reader->at_end[partition] = true;
    reader->partitions_at_end++;
}

sr_status sr_topic_reader_poll(sr_topic_reader *reader, int timeout_ms, rd_kafka_message_t **msg,
                               sr_error *err) {
    *msg = NULL;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(reader->consumer, timeout_ms);
    if (!m) return sr_kafka_terminal_error(err); /* errors arrive inside the poll */
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        *msg = m;
        return SR_OK;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        mark_at_end(reader, m->partition);
        rd_kafka_message_destroy(m);
        return SR_OK;
    }
    char reason[512];
    rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(reader->consumer, reason, sizeof reason);
    sr_status status = SR_OK;
    if (fatal) status = sr_fail(err, SR_ERR_KAFKA, "fatal consumer error: %s", reason);
    else if (sr_kafka_error_is_terminal(m->err, rd_kafka_message_errstr(m)))
        status = sr_kafka_fail(reader->consumer, m->err, rd_kafka_message_errstr(m), err);
    else if (m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        status = sr_fail(err, SR_ERR_NOT_FOUND, "%s", rd_kafka_message_errstr(m));
    else sr_log(SR_LOG_WARN, "kafka", "consumer: %s", rd_kafka_message_errstr(m));
    rd_kafka_message_destroy(m);
    return status;
}

bool sr_topic_reader_at_end(const sr_topic_reader *reader) {
    return reader->partitions_at_end == reader->partition_count;
}

int sr_topic_reader_partition_count(const sr_topic_reader *reader) {
    return reader->partition_count;
}

void sr_topic_reader_free(sr_topic_reader *reader) {
    if (!reader) return;
    if (reader->consumer) {
        rd_kafka_consumer_close(reader->consumer);
        rd_kafka_destroy(reader->consumer);
    }
    free(reader->at_end);
    free(reader);
}
