/*
 * read_dead_letters.c — prints every record of a topic (meant for the
 * dead-letter topic) as one JSON line, for the integration tests:
 *
 *   read_dead_letters --topic T
 *
 *   {"partition":0,"offset":3,"key":"17","value":"0000000001a2...",
 *    "headers":[["trace","abc"],["flag",null],["streamrec.error","truncated"],...]}
 *
 * key is the key as a JSON string (null when there is none), value the value's
 * bytes in hex (null when there is none), headers every header in order, as
 * [name, value] with a null value when the header has none. Key, header names
 * and header values are written byte for byte: printable ASCII as itself,
 * every other byte as \u00XX, so that the bytes can be compared exactly.
 *
 * Reads every partition from its beginning to the end offset it finds at
 * start, read_committed, with no group commits; a topic not known yet (just
 * created) is waited for up to 15 s, so that a test can also use it to wait
 * for a new topic. Exits 0 when it read to the
 * end of every partition, 1 when it gave up (30 s without a record), 2 on a
 * usage or Kafka error. The bootstrap address comes from STREAMREC_BOOTSTRAP.
 */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_text(const void *data, size_t len) {
    const unsigned char *p = data;
    putchar('"');
    for (size_t i = 0; i < len; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') putchar(p[i]);
        else printf("\\u%04x", p[i]);
    }
    putchar('"');
}

static void print_record(const rd_kafka_message_t *msg) {
    printf("{\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"key\":", msg->partition, msg->offset);
    if (msg->key) print_text(msg->key, msg->key_len);
    else printf("null");
    printf(",\"value\":");
    if (msg->payload) {
        putchar('"');
        for (size_t i = 0; i < msg->len; i++) printf("%02x", ((const unsigned char *)msg->payload)[i]);
        putchar('"');
    } else {
        printf("null");
    }
    printf(",\"headers\":[");
    rd_kafka_headers_t *headers = NULL;
    if (rd_kafka_message_headers(msg, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers) {
        const char *name;
        const void *value;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == 0; i++) {
            printf("%s[", i ? "," : "");
            print_text(name, strlen(name));
            putchar(',');
            if (value) print_text(value, size);
            else printf("null");
            putchar(']');
        }
    }
    printf("]}\n");
}

static rd_kafka_t *open_consumer(const char *bootstrap) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "group.id", "read-dead-letters", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "isolation.level", "read_committed", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof errstr)) {
        fprintf(stderr, "read_dead_letters: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) fprintf(stderr, "read_dead_letters: %s\n", errstr);
    return rk;
}

/* Assigns each non-empty partition from its beginning; *ends gets each
 * partition's end offset. Returns the number of partitions, -1 on error. */
static int assign_all(rd_kafka_t *rk, const char *topic_name, int64_t **ends) {
    rd_kafka_topic_t *topic = rd_kafka_topic_new(rk, topic_name, NULL);
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t rc;
    /* A topic created a moment ago may not be in the broker's metadata yet. */
    for (int attempt = 0;; attempt++) {
        rc = rd_kafka_metadata(rk, 0, topic, &md, 15000);
        rd_kafka_resp_err_t topic_err = rc ? rc : md->topics[0].err;
        if (rc || attempt == 75 ||
            (topic_err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART &&
             topic_err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE && md->topics[0].partition_cnt > 0))
            break;
        rd_kafka_metadata_destroy(md);
        usleep(200 * 1000);
    }
    rd_kafka_topic_destroy(topic);
    if (rc || md->topics[0].err) {
        fprintf(stderr, "read_dead_letters: metadata for %s: %s\n", topic_name,
                rd_kafka_err2str(rc ? rc : md->topics[0].err));
        if (!rc) rd_kafka_metadata_destroy(md);
        return -1;
    }
    int count = md->topics[0].partition_cnt;
    *ends = calloc((size_t)count, sizeof **ends);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(count);
    for (int i = 0; *ends && i < count && rc == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
        int32_t id = md->topics[0].partitions[i].id;
        int64_t low, high;
        rc = rd_kafka_query_watermark_offsets(rk, topic_name, id, &low, &high, 15000);
        if (id >= 0 && id < count) (*ends)[id] = high;
        if (!rc && high > low) rd_kafka_topic_partition_list_add(list, topic_name, id)->offset = low;
    }
    rd_kafka_metadata_destroy(md);
    if (!*ends || rc) {
        fprintf(stderr, "read_dead_letters: end offsets of %s: %s\n", topic_name,
                *ends ? rd_kafka_err2str(rc) : "out of memory");
        rd_kafka_topic_partition_list_destroy(list);
        return -1;
    }
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    return count;
}

int main(int argc, char **argv) {
    const char *bootstrap = getenv("STREAMREC_BOOTSTRAP");
    if (argc != 3 || strcmp(argv[1], "--topic") != 0 || !bootstrap) {
        fprintf(stderr, "usage: STREAMREC_BOOTSTRAP=... read_dead_letters --topic T\n");
        return 2;
    }
    const char *topic = argv[2];
    rd_kafka_t *rk = open_consumer(bootstrap);
    if (!rk) return 2;
    int64_t *ends = NULL;
    int partitions = assign_all(rk, topic, &ends);
    if (partitions < 0) {
        rd_kafka_destroy(rk);
        return 2;
    }
    int64_t *next = calloc((size_t)partitions + 1, sizeof *next);
    if (!next) {
        fprintf(stderr, "read_dead_letters: out of memory\n");
        free(ends);
        rd_kafka_destroy(rk);
        return 2;
    }
    int idle_polls = 0, status = 0;
    for (;;) {
        int done = 1;
        for (int p = 0; p < partitions; p++) done &= next[p] >= ends[p];
        if (done) break;
        if (idle_polls == 300) {
            fprintf(stderr, "read_dead_letters: gave up before the end of every partition\n");
            status = 1;
            break;
        }
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 100);
        if (!msg) {
            idle_polls++;
            continue;
        }
        idle_polls = 0;
        int known = msg->partition >= 0 && msg->partition < partitions;
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* At the end (past any transaction markers, which are no records). */
            if (known && msg->offset > next[msg->partition]) next[msg->partition] = msg->offset;
        } else if (msg->err) {
            fprintf(stderr, "read_dead_letters: %s\n", rd_kafka_message_errstr(msg));
        } else if (known && msg->offset < ends[msg->partition]) {
            print_record(msg);
            next[msg->partition] = msg->offset + 1;
        }
        rd_kafka_message_destroy(msg);
    }
    fflush(stdout);
    free(next);
    free(ends);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return status;
}
