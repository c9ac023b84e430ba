/*
 * topic_reader.c — the model topic, from the beginning; see topic_reader.h.
 *
 * The sequence: rd_kafka_new (consumer; a group.id librdkafka wants but that is
 * never joined, no commits), metadata for the topic (one partition or fail),
 * rd_kafka_assign at OFFSET_BEGINNING, then rd_kafka_consumer_poll. With
 * isolation.level=read_committed, records of open or aborted transactions are
 * never delivered and the end reported by PARTITION_EOF is the last stable
 * offset. Failure classes: end of partition (a flag), transient errors (logged;
 * librdkafka retries), a missing topic, no authorisation or a fatal error
 * (returned).
 */
#include "modelio/topic_reader.h"

#include <stdlib.h>
#include <string.h>

#include "sr_log.h"

struct model_topic_reader {
    rd_kafka_t *consumer;
    char *topic;
    bool at_end;
};

static sr_status open_consumer(const char *bootstrap, const sr_kafka_settings *settings, rd_kafka_t **out,
                               sr_error *err) {
    static const char *const defaults[][2] = {
        {"group.id", "streamrec-model-reader"},  /* never joined: we assign */
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"isolation.level", "read_committed"},
        {"enable.partition.eof", "true"},
        {"auto.offset.reset", "earliest"},
        /* A chunk is up to ~1 MB: fetch whole records without growing in steps. */
        {"fetch.max.bytes", "67108864"},
        {"max.partition.fetch.bytes", "8388608"},
    };
    rd_kafka_conf_t *conf = NULL;
    sr_status s = sr_kafka_conf_new(NULL, bootstrap, &conf, err);
    for (size_t i = 0; s == SR_OK && i < sizeof defaults / sizeof defaults[0]; i++)
        s = sr_kafka_conf_set(conf, defaults[i][0], defaults[i][1], err);
    if (s == SR_OK) s = sr_kafka_conf_apply(conf, settings, err);
    if (s != SR_OK) {
        if (conf) rd_kafka_conf_destroy(conf);
        return s;
    }
    char reason[512];
    *out = rd_kafka_new(RD_KAFKA_CONSUMER, conf, reason, sizeof reason);
    if (!*out) {
        rd_kafka_conf_destroy(conf);
        return sr_fail(err, SR_ERR_KAFKA, "creating the model topic consumer: %s", reason);
    }
    rd_kafka_poll_set_consumer(*out);
    return SR_OK;
}

static sr_status assign_single_partition(rd_kafka_t *consumer, const char *name, sr_error *err) {
    rd_kafka_topic_t *topic = rd_kafka_topic_new(consumer, name, NULL);
    if (!topic) return sr_fail(err, SR_ERR_KAFKA, "topic '%s': %s", name, rd_kafka_err2str(rd_kafka_last_error()));
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rc = rd_kafka_metadata(consumer, 0, topic, &md, 10000);
    rd_kafka_topic_destroy(topic);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR)
        return sr_fail(err, SR_ERR_KAFKA, "metadata for model topic '%s': %s", name, rd_kafka_err2str(rc));
    sr_status s = SR_OK;
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0)
        s = sr_fail(err, SR_ERR_NOT_FOUND, "model topic '%s': %s", name,
                    rd_kafka_err2str(md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
    else if (md->topics[0].partition_cnt != 1)
        s = sr_fail(err, SR_ERR_CONFIG, "model topic '%s' has %d partitions; it must have 1, or chunks and "
                    "manifests lose their order", name, md->topics[0].partition_cnt);
    rd_kafka_metadata_destroy(md);
    if (s != SR_OK) return s;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, name, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rc = rd_kafka_assign(consumer, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR)
        return sr_fail(err, SR_ERR_KAFKA, "assigning model topic '%s': %s", name, rd_kafka_err2str(rc));
    return SR_OK;
}

sr_status model_topic_reader_new(const char *bootstrap, const sr_kafka_settings *settings,
                                 const char *topic, model_topic_reader **out, sr_error *err) {
    model_topic_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->topic = strdup(topic))) {
        free(r);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    }
    sr_status s = open_consumer(bootstrap, settings, &r->consumer, err);
    if (s == SR_OK) s = assign_single_partition(r->consumer, topic, err);
    if (s != SR_OK) {
        model_topic_reader_free(r);
        return s;
    }
    *out = r;
    return SR_OK;
}

static bool is_permanent(rd_kafka_resp_err_t code) {
    return code == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || code == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
           code == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED || code == RD_KAFKA_RESP_ERR__FATAL;
}

sr_status model_topic_reader_poll(model_topic_reader *r, int timeout_ms, rd_kafka_message_t **msg,
                                  sr_error *err) {
    *msg = NULL;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(r->consumer, timeout_ms);
    if (!m) return SR_OK;
    if (!m->err) {
        r->at_end = false;
        *msg = m;
        return SR_OK;
    }
    sr_status s = SR_OK;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
        r->at_end = true;
    else if (is_permanent(m->err) || rd_kafka_fatal_error(r->consumer, NULL, 0))
        s = sr_fail(err, SR_ERR_KAFKA, "model topic '%s': %s", r->topic, rd_kafka_message_errstr(m));
    else
        sr_log(SR_LOG_WARN, "model", "model topic '%s': %s", r->topic, rd_kafka_message_errstr(m));
    rd_kafka_message_destroy(m);
    return s;
}

bool model_topic_reader_at_end(const model_topic_reader *r) { return r->at_end; }

void model_topic_reader_free(model_topic_reader *r) {
    if (!r) return;
    if (r->consumer) {
        rd_kafka_consumer_close(r->consumer);
        rd_kafka_destroy(r->consumer);
    }
    free(r->topic);
    free(r);
}
