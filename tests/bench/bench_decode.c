/*
 * bench_decode.c — UserEvent decoding throughput: streamrec's plan-driven
 * decoder against avro-c's generic reader used the fast way (one value reused,
 * child handles fetched once, fields read per record), on one thread.
 *
 * Both decode the same N registry-framed events (a deterministic mix: ~30% with
 * a session id, ~20% with a value) and fold the decoded fields into a checksum;
 * the checksums must agree. Each side runs 3 times, interleaved; the best time
 * counts. Prints one JSON line. Never asserts on time.
 *
 *     build/bench/bench_decode [events]     (default 2000000)
 */
#include <avro.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sr_codec.h"
#include "sr_schemas.h"

typedef struct corpus {
    sr_buffer bytes;
    size_t *offsets; /* count + 1 */
    size_t count;
} corpus;

static uint64_t next_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int build_corpus(corpus *c, size_t n, sr_error *err) {
    uint64_t rng = 0x5eed;
    char session[40];
    c->count = n;
    c->offsets = malloc((n + 1) * sizeof *c->offsets);
    if (!c->offsets) return 0;
    for (size_t i = 0; i < n; i++) {
        sr_user_event e = {.user_id = (int64_t)(next_rand(&rng) % 10000000),
                           .item_id = (int64_t)(next_rand(&rng) % 1000000),
                           .event_type = (sr_event_type)(next_rand(&rng) % SR_EVENT_TYPE_COUNT),
                           .event_time_ms = 1700000000000 + (int64_t)i * 37};
        if (next_rand(&rng) % 10 < 3) {
            e.session_id_len = (size_t)snprintf(session, sizeof session, "%016" PRIx64 "-%08x", next_rand(&rng),
                                                (unsigned)(next_rand(&rng) & 0xffffffff));
            e.has_session_id = true;
            e.session_id = session;
        }
        if (next_rand(&rng) % 10 < 2) {
            e.has_value = true;
            e.value = (double)(next_rand(&rng) % 100000) / 100.0;
        }
        c->offsets[i] = c->bytes.len;
        if (sr_encode_event(&e, SR_WIRE_REGISTRY, &c->bytes, err) != SR_OK) return 0;
    }
    c->offsets[n] = c->bytes.len;
    return 1;
}

static uint64_t mix(uint64_t h, uint64_t x) { return (h ^ x) * 0x100000001b3ULL; }

static uint64_t mix_event(uint64_t h, int64_t user, int64_t item, int type, int64_t time, const char *session,
                          size_t session_len, int has_session, int has_value, double value) {
    h = mix(mix(mix(mix(h, (uint64_t)user), (uint64_t)item), (uint64_t)type), (uint64_t)time);
    h = mix(h, has_session ? session_len + 1 : 0);
    for (size_t i = 0; i < session_len; i++) h = mix(h, (uint8_t)session[i]);
    uint64_t bits = 0;
    if (has_value) memcpy(&bits, &value, sizeof bits);
    return mix(mix(h, (uint64_t)has_value), bits);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int run_streamrec(const sr_codec *codec, const corpus *c, uint64_t *checksum) {
    uint64_t h = 0xcbf29ce484222325ULL;
    sr_user_event ev;
    sr_error err;
    for (size_t i = 0; i < c->count; i++) {
        size_t off = c->offsets[i], len = c->offsets[i + 1] - off;
        if (sr_codec_decode_event(codec, SR_WIRE_REGISTRY, c->bytes.data + off, len, &ev, &err) != SR_OK) {
            fprintf(stderr, "streamrec: event %zu: %s\n", i, err.message);
            return 0;
        }
        h = mix_event(h, ev.user_id, ev.item_id, ev.event_type, ev.event_time_ms, ev.session_id,
                      ev.has_session_id ? ev.session_id_len : 0, ev.has_session_id, ev.has_value, ev.value);
    }
    *checksum = h;
    return 1;
}

typedef struct avro_side {
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
    avro_value_t fields[6]; /* child handles, fetched once */
    avro_reader_t reader;
} avro_side;

static int avro_side_init(avro_side *a) {
    if (avro_schema_from_json_length(sr_schema_user_event, strlen(sr_schema_user_event), &a->schema)) return 0;
    a->iface = avro_generic_class_from_schema(a->schema);
    if (!a->iface || avro_generic_value_new(a->iface, &a->value)) return 0;
    for (int i = 0; i < 6; i++)
        if (avro_value_get_by_index(&a->value, (size_t)i, &a->fields[i], NULL)) return 0;
    a->reader = avro_reader_memory("", 0);
    return a->reader != NULL;
}

static void avro_side_free(avro_side *a) {
    avro_reader_free(a->reader);
    avro_value_decref(&a->value);
    avro_value_iface_decref(a->iface);
    avro_schema_decref(a->schema);
}

/* Reads the record at bytes (registry header checked as ours does) and mixes it in. */
static int avro_decode_one(avro_side *a, const uint8_t *bytes, size_t len, uint64_t *h) {
    if (len < 5 || bytes[0] != 0 || bytes[4] != 1 || bytes[1] | bytes[2] | bytes[3]) return 0;
    avro_reader_memory_set_source(a->reader, (const char *)bytes + 5, (int64_t)(len - 5));
    if (avro_value_read(a->reader, &a->value)) return 0;
    int64_t user = 0, item = 0, time = 0;
    int type = 0, session_branch = 0, value_branch = 0;
    const char *session = NULL;
    size_t session_size = 0;
    double value = 0;
    avro_value_t branch;
    /* Getter failures are summed rather than branched on, as a careful caller would check them. */
    int failed = avro_value_get_long(&a->fields[0], &user) | avro_value_get_long(&a->fields[1], &item) |
                 avro_value_get_enum(&a->fields[2], &type) | avro_value_get_long(&a->fields[3], &time) |
                 avro_value_get_discriminant(&a->fields[4], &session_branch) |
                 avro_value_get_discriminant(&a->fields[5], &value_branch);
    if (session_branch == 1)
        failed |= avro_value_get_current_branch(&a->fields[4], &branch) |
                  avro_value_get_string(&branch, &session, &session_size);
    if (value_branch == 1)
        failed |= avro_value_get_current_branch(&a->fields[5], &branch) | avro_value_get_double(&branch, &value);
    if (failed) return 0;
    *h = mix_event(*h, user, item, type, time, session, session_size ? session_size - 1 : 0, session_branch == 1,
                   value_branch == 1, value);
    return 1;
}

static int run_avro(avro_side *a, const corpus *c, uint64_t *checksum) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < c->count; i++) {
        size_t off = c->offsets[i];
        if (!avro_decode_one(a, c->bytes.data + off, c->offsets[i + 1] - off, &h)) {
            fprintf(stderr, "avro-c: event %zu: %s\n", i, avro_strerror());
            return 0;
        }
    }
    *checksum = h;
    return 1;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    corpus c = {0};
    sr_error err;
    sr_codec *codec;
    avro_side a;
    if (!n || !build_corpus(&c, n, &err) || sr_codec_new(&codec, &err) != SR_OK || !avro_side_init(&a)) {
        fprintf(stderr, "bench_decode: setup failed\n");
        return 1;
    }
    double best_ours = 1e30, best_avro = 1e30;
    uint64_t sum_ours = 0, sum_avro = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now_s();
        if (!run_streamrec(codec, &c, &sum_ours)) return 1;
        double t1 = now_s();
        if (!run_avro(&a, &c, &sum_avro)) return 1;
        double t2 = now_s();
        if (t1 - t0 < best_ours) best_ours = t1 - t0;
        if (t2 - t1 < best_avro) best_avro = t2 - t1;
    }
    if (sum_ours != sum_avro) {
        fprintf(stderr, "bench_decode: checksums differ: %016" PRIx64 " vs %016" PRIx64 "\n", sum_ours, sum_avro);
        return 1;
    }
    printf("{\"bench\":\"decode\",\"events\":%zu,\"bytes\":%zu,\"checksum\":\"%016" PRIx64 "\","
           "\"streamrec_events_per_s\":%.0f,\"avro_c_events_per_s\":%.0f,\"ratio\":%.2f}\n",
           n, c.bytes.len, sum_ours, (double)n / best_ours, (double)n / best_avro, best_avro / best_ours);
    avro_side_free(&a);
    sr_codec_free(codec);
    sr_buffer_free(&c.bytes);
    free(c.offsets);
    return 0;
}
