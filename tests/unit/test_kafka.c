/* test_kafka.c — librdkafka configuration from -X settings, and the embedded
 * broker: default topics with their partition counts, records in and out. */
#include <librdkafka/rdkafka.h>
#include <string.h>

#include "sr_embedded_broker.h"
#include "sr_kafka.h"
#include "sr_topics.h"
#include "test_suite.h"

START_TEST(settings_need_key_and_value) {
    sr_kafka_settings settings = {0};
    sr_error err;
    ck_assert_int_eq(sr_kafka_settings_add(&settings, "linger.ms", &err), SR_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.message, "linger.ms"));
    ck_assert_int_eq(sr_kafka_settings_add(&settings, "=5", &err), SR_ERR_CONFIG);
    ck_assert_int_eq(sr_kafka_settings_add(&settings, "linger.ms=5", &err), SR_OK);
    ck_assert_str_eq(settings.keys[0], "linger.ms");
    ck_assert_str_eq(settings.values[0], "5");
    sr_kafka_settings_free(&settings);
}
END_TEST

START_TEST(unknown_kafka_key_is_named) {
    sr_kafka_settings settings = {0};
    sr_error err;
    ck_assert_int_eq(sr_kafka_settings_add(&settings, "linger.msx=5", &err), SR_OK);
    rd_kafka_conf_t *conf = NULL;
    ck_assert_int_eq(sr_kafka_conf_new(&settings, "127.0.0.1:1", &conf, &err), SR_ERR_CONFIG);
    ck_assert_ptr_null(conf);
    ck_assert_ptr_nonnull(strstr(err.message, "'linger.msx'"));
    sr_kafka_settings_free(&settings);
}
END_TEST

START_TEST(user_settings_win_over_defaults) {
    sr_kafka_settings settings = {0};
    sr_error err;
    ck_assert_int_eq(sr_kafka_settings_add(&settings, "client.id=mine", &err), SR_OK);
    rd_kafka_conf_t *conf;
    ck_assert_int_eq(sr_kafka_conf_new(NULL, "127.0.0.1:1", &conf, &err), SR_OK);
    ck_assert_int_eq(sr_kafka_conf_set(conf, "client.id", "default", &err), SR_OK);
    ck_assert_int_eq(sr_kafka_conf_apply(conf, &settings, &err), SR_OK);
    char value[64];
    size_t size = sizeof value;
    ck_assert_int_eq(rd_kafka_conf_get(conf, "client.id", value, &size), RD_KAFKA_CONF_OK);
    ck_assert_str_eq(value, "mine");
    rd_kafka_conf_destroy(conf);
    sr_kafka_settings_free(&settings);
}
END_TEST

static rd_kafka_t *new_client(rd_kafka_type_t type, const char *bootstrap, const char *group) {
    rd_kafka_conf_t *conf;
    sr_error err;
    ck_assert_int_eq(sr_kafka_conf_new(NULL, bootstrap, &conf, &err), SR_OK);
    if (group) {
        ck_assert_int_eq(sr_kafka_conf_set(conf, "group.id", group, &err), SR_OK);
        ck_assert_int_eq(sr_kafka_conf_set(conf, "auto.offset.reset", "earliest", &err), SR_OK);
    }
    char errstr[256];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    ck_assert_msg(rk != NULL, "%s", errstr);
    return rk;
}

START_TEST(embedded_broker_creates_default_topics) {
    sr_embedded_broker *broker;
    sr_error err;
    ck_assert_int_eq(sr_embedded_broker_start(3, &broker, &err), SR_OK);
    ck_assert_ptr_nonnull(strstr(sr_embedded_broker_bootstrap(broker), "127.0.0.1:"));

    rd_kafka_t *client = new_client(RD_KAFKA_PRODUCER, sr_embedded_broker_bootstrap(broker), NULL);
    for (int i = 0; i < sr_default_topic_count; i++) {
        const sr_topic_spec *spec = &sr_default_topics[i];
        rd_kafka_topic_t *topic = rd_kafka_topic_new(client, spec->name, NULL);
        const struct rd_kafka_metadata *md;
        ck_assert_int_eq(rd_kafka_metadata(client, 0, topic, &md, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
        ck_assert_int_eq(md->topics[0].err, RD_KAFKA_RESP_ERR_NO_ERROR);
        ck_assert_int_eq(md->topics[0].partition_cnt, spec->copartitioned ? 3 : 1);
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(topic);
    }
    rd_kafka_destroy(client);
    sr_embedded_broker_stop(broker);
}
END_TEST

START_TEST(embedded_broker_carries_records) {
    sr_embedded_broker *broker;
    sr_error err;
    ck_assert_int_eq(sr_embedded_broker_start(2, &broker, &err), SR_OK);
    const char *bootstrap = sr_embedded_broker_bootstrap(broker);

    enum { COUNT = 500 };
    rd_kafka_t *producer = new_client(RD_KAFKA_PRODUCER, bootstrap, NULL);
    for (int i = 0; i < COUNT; i++) {
        char value[16];
        int len = snprintf(value, sizeof value, "%d", i);
        ck_assert_int_eq(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(SR_TOPIC_EVENTS),
                                           RD_KAFKA_V_KEY("u", 1), RD_KAFKA_V_VALUE(value, (size_t)len),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    ck_assert_int_eq(rd_kafka_flush(producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(producer);

    rd_kafka_t *consumer = new_client(RD_KAFKA_CONSUMER, bootstrap, "test-embedded");
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, SR_TOPIC_EVENTS, RD_KAFKA_PARTITION_UA);
    ck_assert_int_eq(rd_kafka_subscribe(consumer, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(topics);
    /* One key, so one partition, in order. */
    int next = 0;
    for (int polls = 0; next < COUNT && polls < 600; polls++) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(consumer, 100);
        if (!msg) continue;
        if (!msg->err) {
            char expected[16];
            int len = snprintf(expected, sizeof expected, "%d", next++);
            ck_assert_int_eq((int)msg->len, len);
            ck_assert_int_eq(memcmp(msg->payload, expected, (size_t)len), 0);
        }
        rd_kafka_message_destroy(msg);
    }
    ck_assert_int_eq(next, COUNT);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    sr_embedded_broker_stop(broker);
}
END_TEST

/* The documented limit, measured: a partition keeps about 5 MB and drops its
 * oldest batches beyond that, without an error to anyone. If a newer librdkafka
 * changes this, the README's "Embedded broker limits" must change with it. */
START_TEST(embedded_broker_drops_oldest_data_beyond_5_mb) {
    sr_embedded_broker *broker;
    sr_error err;
    ck_assert_int_eq(sr_embedded_broker_start(1, &broker, &err), SR_OK);
    rd_kafka_t *producer = new_client(RD_KAFKA_PRODUCER, sr_embedded_broker_bootstrap(broker), NULL);

    enum { VALUE_SIZE = 10000, COUNT = 800 }; /* 8 MB into one partition */
    static char value[VALUE_SIZE];
    memset(value, 'x', sizeof value);
    for (int i = 0; i < COUNT; i++) {
        ck_assert_int_eq(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(SR_TOPIC_EVENTS),
                                           RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_VALUE(value, sizeof value),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        if (i % 50 == 49) rd_kafka_flush(producer, 10000); /* many batches, not one */
    }
    ck_assert_int_eq(rd_kafka_flush(producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);

    int64_t low, high;
    ck_assert_int_eq(rd_kafka_query_watermark_offsets(producer, SR_TOPIC_EVENTS, 0, &low, &high, 5000),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    ck_assert_int_eq(high, COUNT);
    int64_t kept_bytes = (high - low) * VALUE_SIZE;
    ck_assert_msg(low > 0, "nothing was dropped");
    ck_assert_msg(kept_bytes <= SR_EMBEDDED_PARTITION_MAX_BYTES + 50 * VALUE_SIZE &&
                      kept_bytes >= SR_EMBEDDED_PARTITION_MAX_BYTES - 50 * VALUE_SIZE,
                  "kept %lld bytes", (long long)kept_bytes);
    rd_kafka_destroy(producer);
    sr_embedded_broker_stop(broker);
}
END_TEST

START_TEST(embedded_broker_rejects_bad_partition_count) {
    sr_embedded_broker *broker;
    sr_error err;
    ck_assert_int_eq(sr_embedded_broker_start(0, &broker, &err), SR_ERR_INVALID_ARG);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("kafka");
    TCase *config = tcase_create("config");
    tcase_add_test(config, settings_need_key_and_value);
    tcase_add_test(config, unknown_kafka_key_is_named);
    tcase_add_test(config, user_settings_win_over_defaults);
    suite_add_tcase(s, config);
    TCase *broker = tcase_create("embedded_broker");
    tcase_set_timeout(broker, 120);
    tcase_add_test(broker, embedded_broker_creates_default_topics);
    tcase_add_test(broker, embedded_broker_carries_records);
    tcase_add_test(broker, embedded_broker_rejects_bad_partition_count);
    tcase_add_test(broker, embedded_broker_drops_oldest_data_beyond_5_mb);
    suite_add_tcase(s, broker);
    return s;
}
