/*
 * bench_latency.c — event-to-publish latency measured from outside the worker,
 * from the records themselves (tests/bench/worker.sh, the latency run).
 *
 * After a run, reads the whole event topic (keeping each record's Kafka
 * timestamp by partition and offset) and then the whole recommendation topic.
 * Each recommendation names the newest event it reflects (source_partition,
 * source_offset); its latency is
 *
 *     the recommendation record's timestamp  -  that event record's timestamp
 *
 * Which moments these are depends on each topic's message.timestamp.type,
 * reported in the output: LogAppendTime is when the broker appended the
 * record, CreateTime when its producer produced it. tests/bench/worker.sh
 * creates both topics with LogAppendTime, so that the figure runs from the
 * event being in Kafka to the recommendation being in Kafka: the worker's
 * fetch, decode, step, scoring and produce, and the broker's append of the
 * result. It also reports the part up to the worker's scoring (the record's
 * generated_at, the worker's wall clock; same host).
 *
 *     build/bench/bench_latency --events-topic T --recommendations-topic R
 *                               [--since-ms MS] [--warmup-ms MS] [--bootstrap ADDR]
 *
 * --since-ms: only recommendations whose event's timestamp is at or after MS
 * (ms since the epoch) count, so that a live phase appended to a pre-filled
 * topic is measured alone ("earlier" counts the others). --warmup-ms: the
 * "steady_" figures leave out the recommendations of the events within this
 * long of the earliest event counted: the start of a live phase, when the
 * producer's first requests arrive in a burst (default 0: all counted).
 *
 * The last line on stdout is one JSON object: counts (with "repeated": lists
 * whose user, source partition and source offset an earlier list had, i.e.
 * the same list published twice), the timestamp type seen on each topic, and
 * the count and p50/p90/p99/p99.9/max/mean in ms of both figures, for all the
 * recommendations counted and for the steady part.
 * Reads with its own assignment (no group, nothing committed), each topic up to
 * the end it has when the read starts.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_codec.h"
#include "sr_kafka.h"

typedef struct partition_times {
    int64_t low;          /* offset of times[0] */
    int64_t high;         /* end offset at the start of the read */
    int64_t *times;       /* high - low Kafka timestamps, -1 = not seen */
} partition_times;

typedef struct topic_read {
    rd_kafka_t *rk;
    int32_t partitions;
    partition_times *parts;
    rd_kafka_timestamp_type_t ts_type;
} topic_read;

typedef void (*record_fn)(void *context, const rd_kafka_message_t *msg, int64_t timestamp);

static int fail(const char *what, const char *why) {
    fprintf(stderr, "bench_latency: %s: %s\n", what, why);
    return 1;
}

static const char *ts_name(rd_kafka_timestamp_type_t t) {
    return t == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? "LogAppendTime"
           : t == RD_KAFKA_TIMESTAMP_CREATE_TIME   ? "CreateTime"
                                                   : "none";
}

/* Reads topic from its start to its current end, calling fn for every record.
 * Fills r (partitions, watermarks, the last timestamp type seen). */
static int read_topic(const char *bootstrap, const char *topic, topic_read *r, record_fn fn,
                      void *context) {
    sr_error err;
    rd_kafka_conf_t *conf;
    if (sr_kafka_conf_new(NULL, bootstrap, &conf, &err) != SR_OK ||
        sr_kafka_conf_set(conf, "group.id", "bench-latency", &err) != SR_OK ||
        sr_kafka_conf_set(conf, "enable.auto.commit", "false", &err) != SR_OK)
        return fail("config", err.message);
    char errstr[512];
    r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!r->rk) return fail("consumer", errstr);
    rd_kafka_topic_t *t = rd_kafka_topic_new(r->rk, topic, NULL);
    const rd_kafka_metadata_t *md;
    rd_kafka_resp_err_t code = rd_kafka_metadata(r->rk, 0, t, &md, 10000);
    rd_kafka_topic_destroy(t);
    if (code) return fail(topic, rd_kafka_err2str(code));
    if (md->topic_cnt != 1 || md->topics[0].err) {
        rd_kafka_metadata_destroy(md);
        return fail(topic, "no such topic");
    }
    r->partitions = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    r->parts = calloc((size_t)r->partitions, sizeof *r->parts);
    if (!r->parts) return fail(topic, "out of memory");
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(r->partitions);
    int64_t remaining = 0;
    for (int32_t p = 0; p < r->partitions; p++) {
        partition_times *pt = &r->parts[p];
        code = rd_kafka_query_watermark_offsets(r->rk, topic, p, &pt->low, &pt->high, 10000);
        if (code) return fail(topic, rd_kafka_err2str(code));
        pt->times = malloc((size_t)(pt->high - pt->low + 1) * sizeof *pt->times);
        if (!pt->times) return fail(topic, "out of memory");
        for (int64_t i = 0; i < pt->high - pt->low; i++) pt->times[i] = -1;
        remaining += pt->high - pt->low;
        rd_kafka_topic_partition_list_add(list, topic, p)->offset = pt->low;
    }
    code = rd_kafka_assign(r->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (code) return fail(topic, rd_kafka_err2str(code));
    int idle = 0;
    while (remaining > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 200);
        if (!m) {
            if (++idle > 150) return fail(topic, "no record for 30 s before the end");
            continue;
        }
        idle = 0;
        if (!m->err && m->partition >= 0 && m->partition < r->partitions) {
            partition_times *pt = &r->parts[m->partition];
            if (m->offset >= pt->low && m->offset < pt->high) {
                rd_kafka_timestamp_type_t type;
                int64_t ts = rd_kafka_message_timestamp(m, &type);
                r->ts_type = type;
                pt->times[m->offset - pt->low] = ts;
                remaining--;
                fn(context, m, ts);
            }
        }
        rd_kafka_message_destroy(m);
    }
    return 0;
}

static void keep_times(void *context, const rd_kafka_message_t *msg, int64_t timestamp) {
    (void)context, (void)msg, (void)timestamp; /* read_topic keeps them */
}

/* One recommendation's figures. */
typedef struct sample {
    int64_t event_ms;     /* its event's timestamp */
    double publish_ms;    /* recommendation timestamp - event timestamp */
    double scoring_ms;    /* generated_at - event timestamp */
} sample;

/* What identifies a list exactly once (schemas/recommendation.avsc). */
typedef struct list_key {
    int64_t user_id;
    int64_t source_offset;
    int32_t source_partition;
} list_key;

typedef struct latencies {
    const topic_read *events;
    int64_t since_ms;     /* only events with a timestamp at or after this count */
    sample *samples;      /* per recommendation matched */
    size_t count, cap;
    list_key *keys;       /* every recommendation's, to count repeats */
    size_t key_count, key_cap;
    uint64_t recommendations, unmatched, undecodable, earlier;
} latencies;

/* Appends to a growable array of n elements of `size` bytes; false when out
 * of memory (the element is then dropped). */
static bool push(void **array, size_t *cap, size_t n, size_t size, const void *element) {
    if (n == *cap) {
        size_t grown_cap = *cap ? 2 * *cap : 1 << 16;
        void *grown = realloc(*array, grown_cap * size);
        if (!grown) return false;
        *array = grown;
        *cap = grown_cap;
    }
    memcpy((char *)*array + n * size, element, size);
    return true;
}

static void on_recommendation(void *context, const rd_kafka_message_t *msg, int64_t timestamp) {
    latencies *l = context;
    l->recommendations++;
    sr_recommendation rec;
    sr_recommended_item items[256];
    sr_error err;
    if (!msg->payload ||
        sr_decode_recommendation(msg->payload, msg->len, &rec, items, 256, &err) != SR_OK) {
        l->undecodable++;
        return;
    }
    list_key key = {.user_id = rec.user_id, .source_offset = rec.source_offset,
                    .source_partition = rec.source_partition};
    if (push((void **)&l->keys, &l->key_cap, l->key_count, sizeof key, &key)) l->key_count++;
    const topic_read *ev = l->events;
    const partition_times *pt = rec.source_partition >= 0 && rec.source_partition < ev->partitions
                                    ? &ev->parts[rec.source_partition] : NULL;
    if (!pt || rec.source_offset < pt->low || rec.source_offset >= pt->high ||
        pt->times[rec.source_offset - pt->low] < 0) {
        l->unmatched++;
        return;
    }
    int64_t produced = pt->times[rec.source_offset - pt->low];
    if (produced < l->since_ms) {
        l->earlier++;
        return;
    }
    sample one = {.event_ms = produced, .publish_ms = (double)(timestamp - produced),
                  .scoring_ms = (double)(rec.generated_at_ms - produced)};
    if (!push((void **)&l->samples, &l->cap, l->count, sizeof one, &one)) {
        l->unmatched++;
        return;
    }
    l->count++;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int by_key(const void *a, const void *b) {
    const list_key *x = a, *y = b;
    if (x->user_id != y->user_id) return x->user_id < y->user_id ? -1 : 1;
    if (x->source_partition != y->source_partition) return x->source_partition < y->source_partition ? -1 : 1;
    return x->source_offset < y->source_offset ? -1 : x->source_offset > y->source_offset;
}

/* Recommendations whose (user, source partition, source offset) an earlier
 * one already had: the same list published again. */
static uint64_t repeats(list_key *keys, size_t n) {
    qsort(keys, n, sizeof *keys, by_key);
    uint64_t r = 0;
    for (size_t i = 1; i < n; i++) r += by_key(&keys[i - 1], &keys[i]) == 0;
    return r;
}

/* The q-quantile of n sorted values (nearest rank). */
static double quantile(const double *v, size_t n, double q) {
    if (n == 0) return 0;
    size_t i = (size_t)(q * (double)n);
    return v[i < n ? i : n - 1];
}

/* Prints "<name>_p50_ms":...,... of the samples whose event is at or after
 * since_ms: the publish figures, or the scoring ones. */
static void print_figures(const char *name, const sample *samples, size_t count, int64_t since_ms,
                          bool scoring, bool last) {
    double *v = malloc((count + 1) * sizeof *v);
    size_t n = 0;
    for (size_t i = 0; v && i < count; i++)
        if (samples[i].event_ms >= since_ms)
            v[n++] = scoring ? samples[i].scoring_ms : samples[i].publish_ms;
    if (v) qsort(v, n, sizeof *v, by_value);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    printf("\"%s_count\":%zu,\"%s_p50_ms\":%.1f,\"%s_p90_ms\":%.1f,\"%s_p99_ms\":%.1f,"
           "\"%s_p999_ms\":%.1f,\"%s_max_ms\":%.1f,\"%s_mean_ms\":%.2f%s",
           name, n, name, quantile(v, n, 0.5), name, quantile(v, n, 0.9), name,
           quantile(v, n, 0.99), name, quantile(v, n, 0.999), name, n ? v[n - 1] : 0, name,
           n ? sum / (double)n : 0, last ? "" : ",");
    fprintf(stderr, "latency %s: p50 %.1f ms, p99 %.1f ms, max %.1f ms over %zu\n", name,
            quantile(v, n, 0.5), quantile(v, n, 0.99), n ? v[n - 1] : 0, n);
    free(v);
}

int main(int argc, char **argv) {
    const char *bootstrap = sr_kafka_default_bootstrap(), *events_topic = NULL, *recs_topic = NULL;
    int64_t since_ms = 0, warmup_ms = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--events-topic")) events_topic = argv[i + 1];
        else if (!strcmp(argv[i], "--recommendations-topic")) recs_topic = argv[i + 1];
        else if (!strcmp(argv[i], "--bootstrap")) bootstrap = argv[i + 1];
        else if (!strcmp(argv[i], "--since-ms")) since_ms = strtoll(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--warmup-ms")) warmup_ms = strtoll(argv[i + 1], NULL, 10);
        else events_topic = NULL, i = argc;
    }
    if (!events_topic || !recs_topic || argc % 2 == 0)
        return fail("usage", "--events-topic T --recommendations-topic R [--since-ms MS] "
                             "[--warmup-ms MS] [--bootstrap ADDR]");

    topic_read events = {0}, recs = {0};
    latencies l = {.events = &events, .since_ms = since_ms};
    if (read_topic(bootstrap, events_topic, &events, keep_times, NULL) != 0) return 1;
    if (read_topic(bootstrap, recs_topic, &recs, on_recommendation, &l) != 0) return 1;
    uint64_t event_count = 0;
    for (int32_t p = 0; p < events.partitions; p++)
        event_count += (uint64_t)(events.parts[p].high - events.parts[p].low);
    fprintf(stderr, "latency: %" PRIu64 " events (%s), %" PRIu64 " recommendations (%s), %zu matched\n",
            event_count, ts_name(events.ts_type), l.recommendations, ts_name(recs.ts_type), l.count);
    printf("{\"bench\":\"latency\",\"events\":%" PRIu64 ",\"recommendations\":%" PRIu64
           ",\"matched\":%zu,\"repeated\":%" PRIu64 ",\"earlier\":%" PRIu64
           ",\"unmatched\":%" PRIu64
           ",\"undecodable\":%" PRIu64
           ",\"event_timestamps\":\"%s\",\"recommendation_timestamps\":\"%s\",",
           event_count, l.recommendations, l.count, repeats(l.keys, l.key_count), l.earlier, l.unmatched,
           l.undecodable,
           ts_name(events.ts_type), ts_name(recs.ts_type));
    int64_t first_ms = INT64_MAX;
    for (size_t i = 0; i < l.count; i++)
        if (l.samples[i].event_ms < first_ms) first_ms = l.samples[i].event_ms;
    int64_t steady_ms = l.count ? first_ms + warmup_ms : since_ms;
    printf("\"warmup_ms\":%" PRId64 ",", warmup_ms);
    print_figures("publish", l.samples, l.count, since_ms, false, false);
    print_figures("scoring", l.samples, l.count, since_ms, true, false);
    print_figures("steady_publish", l.samples, l.count, steady_ms, false, false);
    print_figures("steady_scoring", l.samples, l.count, steady_ms, true, true);
    printf("}\n");
    for (int32_t p = 0; p < events.partitions; p++) free(events.parts[p].times);
    for (int32_t p = 0; p < recs.partitions; p++) free(recs.parts[p].times);
    free(events.parts), free(recs.parts), free(l.samples), free(l.keys);
    rd_kafka_consumer_close(events.rk);
    rd_kafka_consumer_close(recs.rk);
    rd_kafka_destroy(events.rk);
    rd_kafka_destroy(recs.rk);
    return 0;
}
