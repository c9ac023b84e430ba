/* test_stream_consumer.c — the worker's consumer against librdkafka's mock
 * cluster: processed offsets commit, waited for or sent (the worker's loop
 * does not wait), and a refused asynchronous commit is reported by the next
 * commit, while a group mid-rebalance only defers it. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <string.h>

#include "stream/consumer.h"
#include "test_suite.h"

#define TOPIC "events"
#define GROUP "test-stream-consumer"
enum { OFFSET_COMMIT_API = 8 }; /* Kafka's ApiKey of OffsetCommit */

typedef struct {
    rd_kafka_t *host; /* owns the mock cluster */
    rd_kafka_mock_cluster_t *cluster;
    const char *bootstrap;
} mock_kafka;

static rd_kafka_t *client(rd_kafka_type_t type, const char *bootstrap, const char *group) {
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr),
                     RD_KAFKA_CONF_OK);
    if (group)
        ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof errstr),
                         RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    ck_assert_msg(rk != NULL, "%s", errstr);
    return rk;
}

static void produce(const mock_kafka *m, int records) {
    rd_kafka_t *producer = client(RD_KAFKA_PRODUCER, m->bootstrap, NULL);
    char value[] = "v";
    for (int i = 0; i < records; i++)
        ck_assert_int_eq(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_VALUE(value, 1),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
    ck_assert_int_eq(rd_kafka_flush(producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(producer);
}

static void mock_start(mock_kafka *m, int records) {
    m->host = client(RD_KAFKA_PRODUCER, "", NULL);
    m->cluster = rd_kafka_mock_cluster_new(m->host, 1);
    ck_assert_ptr_nonnull(m->cluster);
    ck_assert_int_eq(rd_kafka_mock_topic_create(m->cluster, TOPIC, 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    m->bootstrap = rd_kafka_mock_cluster_bootstraps(m->cluster);
    produce(m, records);
}

static void mock_stop(mock_kafka *m) {
    rd_kafka_mock_cluster_destroy(m->cluster);
    rd_kafka_destroy(m->host);
}

/* One poll, as the worker's loop does (callbacks, such as an asynchronous
 * commit's result, are served inside): up to max records, each marked
 * processed. Returns how many. */
static int poll_processed(stream_consumer *c, int timeout_ms, size_t max) {
    rd_kafka_message_t *records[64];
    size_t got = stream_consumer_poll(c, timeout_ms, records, max < 64 ? max : 64);
    int read = 0;
    for (size_t i = 0; i < got; i++) {
        if (!records[i]->err) {
            stream_consumer_processed(c, records[i]->partition, records[i]->offset);
            read++;
        }
        rd_kafka_message_destroy(records[i]);
    }
    return read;
}

/* Polls until n records are read, or 20 s. */
static void read_records(stream_consumer *c, int n) {
    int read = 0;
    for (int polls = 0; read < n && polls < 200; polls++) read += poll_processed(c, 100, (size_t)(n - read));
    ck_assert_int_eq(read, n);
}

/* Polls for about ms; returns the records read meanwhile. */
static int serve(stream_consumer *c, int ms) {
    int read = 0;
    for (int waited = 0; waited < ms; waited += 50) read += poll_processed(c, 50, 64);
    return read;
}

/* The group's committed offset of partition 0, asked of the coordinator. */
static int64_t committed_offset(const char *bootstrap) {
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, bootstrap, GROUP);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, TOPIC, 0);
    ck_assert_int_eq(rd_kafka_committed(rk, list, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    int64_t offset = list->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_destroy(rk);
    return offset;
}

static stream_consumer *consumer_new(const char *bootstrap) {
    stream_consumer_options o = {.bootstrap = bootstrap, .group_id = GROUP,
                                 .client_id = "test-stream-consumer", .topic = TOPIC};
    stream_consumer *c;
    sr_error err;
    ck_assert_int_eq(stream_consumer_new(&o, &c, &err), SR_OK);
    return c;
}

START_TEST(commits_waited_for_and_sent) {
    mock_kafka m;
    mock_start(&m, 30);
    stream_consumer *c = consumer_new(m.bootstrap);
    sr_error err;
    int committed = 0;
    read_records(c, 10);
    ck_assert_int_eq(stream_consumer_commit(c, true, &committed, &err), SR_OK);
    ck_assert_int_eq(committed, 1);
    ck_assert_int_eq(committed_offset(m.bootstrap), 10);
    /* Nothing processed since: nothing to send. */
    ck_assert_int_eq(stream_consumer_commit(c, true, &committed, &err), SR_OK);
    ck_assert_int_eq(committed, 0);

    read_records(c, 20);
    ck_assert_int_eq(stream_consumer_commit(c, false, &committed, &err), SR_OK);
    ck_assert_int_eq(committed, 1);
    ck_assert_int_eq(serve(c, 500), 0); /* the result comes back with a consume call */
    ck_assert_int_eq(committed_offset(m.bootstrap), 30);
    /* ... and marked the offsets committed: nothing left to send. */
    ck_assert_int_eq(stream_consumer_commit(c, false, &committed, &err), SR_OK);
    ck_assert_int_eq(committed, 0);
    stream_consumer_close(c);
    mock_stop(&m);
}
END_TEST

START_TEST(a_refused_commit_is_reported_by_the_next) {
    mock_kafka m;
    mock_start(&m, 20);
    stream_consumer *c = consumer_new(m.bootstrap);
    sr_error err;
    int committed = 0;
    read_records(c, 10);
    /* A group mid-rebalance: deferred, not a failure. */
    rd_kafka_mock_push_request_errors(m.cluster, OFFSET_COMMIT_API, 1,
                                      RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS);
    ck_assert_int_eq(stream_consumer_commit(c, false, &committed, &err), SR_OK);
    ck_assert_int_eq(serve(c, 500), 10);
    ck_assert_int_eq(stream_consumer_commit(c, true, &committed, &err), SR_OK);
    ck_assert_int_eq(committed_offset(m.bootstrap), 20);

    produce(&m, 5);
    read_records(c, 5);
    rd_kafka_mock_push_request_errors(m.cluster, OFFSET_COMMIT_API, 1,
                                      RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED);
    ck_assert_int_eq(stream_consumer_commit(c, false, &committed, &err), SR_OK); /* sent */
    ck_assert_int_eq(committed, 1);
    ck_assert_int_eq(serve(c, 500), 0);
    ck_assert_int_eq(stream_consumer_commit(c, false, &committed, &err), SR_ERR_KAFKA);
    ck_assert_msg(strstr(err.message, "committing offsets of " TOPIC) &&
                      strstr(err.message, "uthoriz"),
                  "%s", err.message);
    ck_assert_int_eq(committed_offset(m.bootstrap), 20);
    stream_consumer_close(c);
    mock_stop(&m);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("stream_consumer");
    TCase *tc = tcase_create("commits");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, commits_waited_for_and_sent);
    tcase_add_test(tc, a_refused_commit_is_reported_by_the_next);
    suite_add_tcase(s, tc);
    return s;
}
