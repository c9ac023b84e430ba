/*
 * verify_topic.c — an independent consumer for the integration tests.
 *
 * Reads a whole topic (every partition, from the beginning to the end offsets
 * it finds at start, read_committed), decodes each value with avro-c's generic
 * reader — not with streamrec's own decoder — and compares the events with an
 * expected stream:
 *
 *   verify_topic --topic T --expect-lines FILE        one line per user: "user item item ..."
 *   verify_topic --topic T --expect-pairs FILE        "user item" per line
 *   verify_topic --topic T --expect-synthetic U,I,E,SEED
 *
 * Checks: every expected event arrived exactly once, each user's events in
 * order, the key is the user id, each value is one whole Avro record (no
 * trailing bytes), and item, event type, session id and value (absent for the
 * file formats) and, for synthetic streams, event time are equal. An empty
 * expected stream is refused (it would pass trivially). Prints a summary and
 * exits 0 only if all hold.
 */
#include <avro.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expected_stream.h"
#include "sr_schemas.h"

struct decoded {
    int64_t user_id;
    expected_fields fields;  /* session points into the avro value */
};

static avro_schema_t schema;
static avro_value_iface_t *iface;
static avro_value_t value;

static int decode_with_avro_c(const void *buf, size_t len, struct decoded *out) {
    const unsigned char *bytes = buf;
    /* Registry framing: magic 0 and a 4-byte schema id, which must be 1. */
    if (len < 5 || bytes[0] != 0 || bytes[1] || bytes[2] || bytes[3] || bytes[4] != 1) return -1;
    avro_reader_t reader = avro_reader_memory((const char *)bytes + 5, (int64_t)(len - 5));
    avro_value_reset(&value);
    int rc = avro_value_read(reader, &value);
    /* avro-c stops after the record; a further byte that reads is garbage. */
    char extra;
    if (rc == 0 && avro_read(reader, &extra, 1) == 0) rc = -1;
    avro_reader_free(reader);
    if (rc) return -1;
    avro_value_t field, branch;
    int session_branch, value_branch;
    const char *session = NULL;
    size_t session_size = 0;
    *out = (struct decoded){0};
    if (avro_value_get_by_name(&value, "user_id", &field, NULL) ||
        avro_value_get_long(&field, &out->user_id) ||
        avro_value_get_by_name(&value, "item_id", &field, NULL) ||
        avro_value_get_long(&field, &out->fields.item) ||
        avro_value_get_by_name(&value, "event_type", &field, NULL) ||
        avro_value_get_enum(&field, &out->fields.type) ||
        avro_value_get_by_name(&value, "event_time", &field, NULL) ||
        avro_value_get_long(&field, &out->fields.time) ||
        avro_value_get_by_name(&value, "session_id", &field, NULL) ||
        avro_value_get_discriminant(&field, &session_branch) ||
        (session_branch == 1 && (avro_value_get_current_branch(&field, &branch) ||
                                 avro_value_get_string(&branch, &session, &session_size))) ||
        avro_value_get_by_name(&value, "value", &field, NULL) ||
        avro_value_get_discriminant(&field, &value_branch) ||
        (value_branch == 1 && (avro_value_get_current_branch(&field, &branch) ||
                               avro_value_get_double(&branch, &out->fields.value))))
        return -1;
    if (session_branch == 1) {
        /* avro-c's size counts the terminating NUL. */
        out->fields.has_session = 1;
        out->fields.session = session;
        out->fields.session_len = session_size ? session_size - 1 : 0;
    }
    out->fields.has_value = value_branch == 1;
    return 0;
}

static rd_kafka_t *open_consumer(const char *bootstrap) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "group.id", "verify-topic", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "isolation.level", "read_committed", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof errstr)) {
        fprintf(stderr, "verify_topic: %s\n", errstr);
        exit(2);
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "verify_topic: %s\n", errstr);
        exit(2);
    }
    return rk;
}

/* Assigns every partition from the beginning; returns how many there are. */
static int assign_all(rd_kafka_t *rk, const char *topic_name) {
    rd_kafka_topic_t *topic = rd_kafka_topic_new(rk, topic_name, NULL);
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t rc = rd_kafka_metadata(rk, 0, topic, &md, 15000);
    rd_kafka_topic_destroy(topic);
    if (rc || md->topics[0].err) {
        fprintf(stderr, "verify_topic: metadata for %s: %s\n", topic_name,
                rd_kafka_err2str(rc ? rc : md->topics[0].err));
        exit(2);
    }
    int count = md->topics[0].partition_cnt;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(count);
    for (int i = 0; i < count; i++)
        rd_kafka_topic_partition_list_add(list, topic_name, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    return count;
}

int main(int argc, char **argv) {
    const char *topic = NULL, *lines = NULL, *pairs = NULL, *synthetic = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--topic")) topic = argv[i + 1];
        else if (!strcmp(argv[i], "--expect-lines")) lines = argv[i + 1];
        else if (!strcmp(argv[i], "--expect-pairs")) pairs = argv[i + 1];
        else if (!strcmp(argv[i], "--expect-synthetic")) synthetic = argv[i + 1];
    }
    const char *bootstrap = getenv("STREAMREC_BOOTSTRAP");
    if (!topic || !(lines || pairs || synthetic) || !bootstrap) {
        fprintf(stderr, "usage: STREAMREC_BOOTSTRAP=... verify_topic --topic T "
                        "(--expect-lines F | --expect-pairs F | --expect-synthetic U,I,E,SEED)\n");
        return 2;
    }
    expected_stream *expected = lines ? expected_from_lines(lines)
                              : pairs ? expected_from_pairs(pairs)
                                      : expected_from_synthetic(synthetic);
    if (!expected) return 2;
    if (expected_finish(expected).expected == 0) {
        fprintf(stderr, "verify_topic: the expected stream has no events; nothing to verify\n");
        expected_free(expected);
        return 2;
    }

    if (avro_schema_from_json_length(sr_schema_user_event, strlen(sr_schema_user_event), &schema)) {
        fprintf(stderr, "verify_topic: schema: %s\n", avro_strerror());
        return 2;
    }
    iface = avro_generic_class_from_schema(schema);
    avro_generic_value_new(iface, &value);

    rd_kafka_t *rk = open_consumer(bootstrap);
    int partitions = assign_all(rk, topic), at_end = 0;
    /* EOF can come more than once per partition: one flag each, not a count. */
    unsigned char *ended = calloc((size_t)partitions + 1, 1);
    if (!ended) return 2;
    long long records = 0, undecodable = 0, bad_keys = 0;
    int idle_polls = 0;
    while (at_end < partitions && idle_polls < 300) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 100);
        if (!msg) {
            idle_polls++;
            continue;
        }
        idle_polls = 0;
        unsigned char *flag = msg->partition >= 0 && msg->partition < partitions
                                  ? &ended[msg->partition] : NULL;
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (flag && !*flag) at_end++;
            if (flag) *flag = 1;
        } else if (msg->err) {
            fprintf(stderr, "verify_topic: %s\n", rd_kafka_message_errstr(msg));
        } else {
            struct decoded ev;
            if (flag && *flag) at_end--;
            if (flag) *flag = 0;
            records++;
            if (!msg->payload || decode_with_avro_c(msg->payload, msg->len, &ev)) {
                undecodable++;
            } else {
                char key[32];
                int key_len = snprintf(key, sizeof key, "%" PRId64, ev.user_id);
                if (!msg->key || msg->key_len != (size_t)key_len || memcmp(msg->key, key, (size_t)key_len))
                    bad_keys++;
                expected_observe(expected, ev.user_id, &ev.fields);
            }
        }
        rd_kafka_message_destroy(msg);
    }
    free(ended);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);

    expected_report report = expected_finish(expected);
    printf("verify_topic: topic=%s partitions=%d records=%lld expected=%lld missing=%lld "
           "duplicates=%lld out_of_order=%lld mismatched=%lld unexpected=%lld undecodable=%lld "
           "bad_keys=%lld\n",
           topic, partitions, records, report.expected, report.missing, report.duplicates,
           report.out_of_order, report.mismatched, report.unexpected, undecodable, bad_keys);
    expected_free(expected);
    avro_value_decref(&value);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
    int ok = at_end == partitions && report.missing == 0 && report.duplicates == 0 &&
             report.out_of_order == 0 && report.mismatched == 0 && report.unexpected == 0 &&
             undecodable == 0 && bad_keys == 0 && records == report.expected;
    if (at_end < partitions) fprintf(stderr, "verify_topic: gave up before the end of every partition\n");
    return ok ? 0 : 1;
}
