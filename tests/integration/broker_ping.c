/*
 * broker_ping.c — fails with a clear message when no Kafka broker answers at
 * $STREAMREC_BOOTSTRAP, so that an integration test never hangs or fails
 * obscurely for want of a broker.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    const char *bootstrap = getenv("STREAMREC_BOOTSTRAP");
    if (!bootstrap || !*bootstrap) {
        fprintf(stderr, "broker_ping: STREAMREC_BOOTSTRAP is not set: the integration tests need "
                        "a Kafka broker (deploy/kafka/start.sh starts one)\n");
        return 1;
    }
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr)) {
        fprintf(stderr, "broker_ping: %s\n", errstr);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "broker_ping: %s\n", errstr);
        return 1;
    }
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t rc = rd_kafka_metadata(rk, 0, NULL, &md, 10000);
    if (rc) {
        fprintf(stderr, "broker_ping: no Kafka broker reachable at STREAMREC_BOOTSTRAP=%s within 10 s (%s)\n",
                bootstrap, rd_kafka_err2str(rc));
        rd_kafka_destroy(rk);
        return 1;
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return 0;
}
