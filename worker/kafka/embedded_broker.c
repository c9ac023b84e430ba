/*
 * embedded_broker.c — the embedded broker: librdkafka's mock cluster behind a
 * small API; see sr_embedded_broker.h for what it is and its limits.
 *
 * A mock cluster lives inside an rd_kafka_t handle, so we create a producer
 * handle that never produces: it owns the cluster's thread and sockets.
 */
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "sr_embedded_broker.h"
#include "sr_topics.h"

struct sr_embedded_broker {
    rd_kafka_t *host;                 /* the handle that owns the cluster */
    rd_kafka_mock_cluster_t *cluster;
    char bootstrap[128];
};

sr_status sr_embedded_broker_create_topic(sr_embedded_broker *broker, const char *topic,
                                          int partitions, sr_error *err) {
    rd_kafka_resp_err_t rc = rd_kafka_mock_topic_create(broker->cluster, topic, partitions, 1);
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR)
        return sr_fail(err, SR_ERR_KAFKA, "creating topic '%s' on the embedded broker: %s", topic,
                       rd_kafka_err2str(rc));
    return SR_OK;
}

sr_status sr_embedded_broker_start(int partitions, sr_embedded_broker **out, sr_error *err) {
    if (partitions < 1 || partitions > 1024)
        return sr_fail(err, SR_ERR_INVALID_ARG, "partitions must be 1..1024, not %d", partitions);

    sr_embedded_broker *broker = calloc(1, sizeof *broker);
    if (!broker) return sr_fail(err, SR_ERR_NOMEM, "out of memory");

    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The host handle only carries the cluster; keep it from logging noise. */
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        free(broker);
        return sr_fail(err, SR_ERR_KAFKA, "configuring the embedded broker's handle: %s", errstr);
    }
    broker->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!broker->host) {
        rd_kafka_conf_destroy(conf);
        free(broker);
        return sr_fail(err, SR_ERR_KAFKA, "creating the embedded broker's handle: %s", errstr);
    }
    broker->cluster = rd_kafka_mock_cluster_new(broker->host, 1);
    if (!broker->cluster) {
        rd_kafka_destroy(broker->host);
        free(broker);
        return sr_fail(err, SR_ERR_KAFKA, "starting the embedded broker failed");
    }
    snprintf(broker->bootstrap, sizeof broker->bootstrap, "%s",
             rd_kafka_mock_cluster_bootstraps(broker->cluster));

    for (int i = 0; i < sr_default_topic_count; i++) {
        const sr_topic_spec *spec = &sr_default_topics[i];
        sr_status status = sr_embedded_broker_create_topic(
            broker, spec->name, spec->copartitioned ? partitions : 1, err);
        if (status != SR_OK) {
            sr_embedded_broker_stop(broker);
            return status;
        }
    }
    *out = broker;
    return SR_OK;
}

const char *sr_embedded_broker_bootstrap(const sr_embedded_broker *broker) {
    return broker->bootstrap;
}

void sr_embedded_broker_stop(sr_embedded_broker *broker) {
    if (!broker) return;
    rd_kafka_mock_cluster_destroy(broker->cluster);
    rd_kafka_destroy(broker->host);
    free(broker);
}
