/*
 * bench_consume_only.c — the Kafka limit for the worker benchmark
 * (tests/bench/worker.sh): a plain librdkafka group consumer that reads a topic
 * from the beginning to its end and does nothing else with each record than
 * touch its payload (a byte of it and its length go into a checksum).
 *
 * It consumes exactly as the worker's consumer does (worker/stream/consumer.c):
 * the same settings (manual commits, offset reset earliest, read_committed,
 * statistics every 5 s, range/roundrobin assignment), a subscription in its own
 * group, and rd_kafka_consume_batch_queue with the worker's default batch of
 * 4096 records; every setting not listed there is librdkafka's default in both.
 * It never commits (nothing to commit: the run is thrown away).
 *
 *     build/bench/bench_consume_only --topic T --events N [--group G]
 *                                    [--bootstrap ADDR] [--batch B] [--timeout-s S]
 *
 * Reads until N records have arrived (the topic holds N); the rate is the
 * records after the first batch over the time from that batch to the N-th. Fails when no record arrives for --timeout-s seconds
 * (default 60). The last line on stdout is one JSON object, with the process's
 * peak resident memory (librdkafka's pre-fetch queue, mostly).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "sr_clock.h"
#include "sr_kafka.h"

/* As worker/stream/consumer.c's default_settings, plus a client id. */
static const char *const settings[][2] = {
    {"enable.auto.commit", "false"},
    {"enable.auto.offset.store", "false"},
    {"auto.offset.reset", "earliest"},
    {"isolation.level", "read_committed"},
    {"statistics.interval.ms", "5000"},
    {"partition.assignment.strategy", "range,roundrobin"},
    {"client.id", "bench-consume-only"},
};

static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
    (void)rk, (void)json, (void)len, (void)opaque;
    return 0; /* librdkafka frees json */
}

static int fail(const char *what, const char *why) {
    fprintf(stderr, "bench_consume_only: %s: %s\n", what, why);
    return 1;
}

int main(int argc, char **argv) {
    const char *bootstrap = sr_kafka_default_bootstrap(), *topic = NULL;
    const char *group = "bench-consume-only";
    uint64_t expected = 0;
    size_t batch = 4096;
    int timeout_s = 60;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--topic")) topic = argv[i + 1];
        else if (!strcmp(argv[i], "--bootstrap")) bootstrap = argv[i + 1];
        else if (!strcmp(argv[i], "--group")) group = argv[i + 1];
        else if (!strcmp(argv[i], "--events")) expected = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--batch")) batch = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--timeout-s")) timeout_s = atoi(argv[i + 1]);
        else return fail("usage", "--topic T --events N [--group G] [--bootstrap ADDR] [--batch B] [--timeout-s S]");
    }
    if (!topic || expected == 0 || batch == 0 || batch > 65536 || (argc - 1) % 2)
        return fail("usage", "--topic T --events N [--group G] [--bootstrap ADDR] [--batch B] [--timeout-s S]");

    sr_error err;
    rd_kafka_conf_t *conf;
    if (sr_kafka_conf_new(NULL, bootstrap, &conf, &err) != SR_OK) return fail("config", err.message);
    sr_status status = sr_kafka_conf_set(conf, "group.id", group, &err);
    for (size_t i = 0; status == SR_OK && i < sizeof settings / sizeof *settings; i++)
        status = sr_kafka_conf_set(conf, settings[i][0], settings[i][1], &err);
    if (status != SR_OK) return fail("config", err.message);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) return fail("consumer", errstr);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t code = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (code) return fail("subscribe", rd_kafka_err2str(code));

    rd_kafka_message_t **records = calloc(batch, sizeof *records);
    if (!records) return fail("consumer", "out of memory");
    uint64_t count = 0, first_batch = 0, bytes = 0, checksum = 0, errors = 0;
    double first = 0, last = 0, started = sr_monotonic_seconds(), idle_since = started;
    while (count < expected) {
        ssize_t n = rd_kafka_consume_batch_queue(queue, 100, records, batch);
        double now = sr_monotonic_seconds();
        if (n <= 0) {
            if (now - idle_since > timeout_s) {
                fprintf(stderr, "bench_consume_only: no record for %d s after %" PRIu64 " of %" PRIu64 "\n",
                        timeout_s, count, expected);
                return 1;
            }
            continue;
        }
        idle_since = now;
        for (ssize_t i = 0; i < n; i++) {
            const rd_kafka_message_t *m = records[i];
            if (m->err) {
                errors++;
            } else {
                if (count == 0) first = now;
                count++;
                bytes += m->len;
                if (m->len) checksum += ((const uint8_t *)m->payload)[m->len / 2];
            }
            rd_kafka_message_destroy(records[i]);
        }
        if (first_batch == 0) first_batch = count;
        last = sr_monotonic_seconds();
    }
    /* The records after the first batch over the time from its arrival to the
     * end: the first batch arrived at once, so it has no duration of its own
     * (the worker's rate is taken the same way from its counters). */
    double seconds = last - first;
    double rate = seconds > 0 ? (double)(count - first_batch) / seconds : 0;
    fprintf(stderr, "consume-only: %" PRIu64 " records, %.1f MB in %.3f s: %.0f records/s "
                    "(%.1f MB/s)\n", count, (double)bytes / 1e6, seconds, rate,
            seconds > 0 ? (double)bytes / 1e6 / seconds : 0);
    /* The peak resident memory: librdkafka's pre-fetch queue, nothing else
     * of size is here (what the worker carries besides its users). */
    struct rusage usage;
    long max_resident_kb = getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_maxrss : 0;
    printf("{\"bench\":\"consume_only\",\"events\":%" PRIu64 ",\"bytes\":%" PRIu64
           ",\"seconds\":%.4f,\"events_per_s\":%.1f,\"mb_per_s\":%.2f,\"errors\":%" PRIu64
           ",\"max_resident_bytes\":%ld,\"checksum\":%" PRIu64 "}\n",
           count, bytes, seconds, rate, seconds > 0 ? (double)bytes / 1e6 / seconds : 0, errors,
           max_resident_kb * 1024, checksum);
    free(records);
    rd_kafka_queue_destroy(queue);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}
