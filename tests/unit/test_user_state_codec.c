/*
 * test_user_state_codec.c — UserState records (the changelog's values): round
 * trips, agreement with avro-c on schemas/user_state.avsc both ways, and every
 * kind of damage refused with its status.
 */
#include <math.h>
#include <stdlib.h>

#include "sr_schemas.h"
#include "test_codec_util.h"
#include "test_suite.h"

enum { MAX_FLOATS = 64 + 16 * 64, MAX_WINDOW = 16 };

typedef struct {
    float hidden[MAX_FLOATS];
    int64_t items[MAX_WINDOW];
    uint8_t types[MAX_WINDOW];
    sr_user_state_record rec;
} state_sample;

static void random_state(uint64_t *rng, state_sample *s) {
    s->rec = (sr_user_state_record){
        .user_id = test_rand_long(rng), .model_version = test_rand_long(rng),
        .hidden = s->hidden, .hidden_count = test_rand(rng) % 2 ? 64 : MAX_FLOATS,
        .recent_items = s->items, .recent_types = s->types,
        .recent_count = test_rand(rng) % (MAX_WINDOW + 1),
        .applied_events = test_rand(rng) >> (test_rand(rng) % 63 + 1),
        .sequence_hash = test_rand(rng), .last_event_time_ms = test_rand_long(rng),
        .last_scored_at_ms = test_rand_long(rng), .source_partition = (int32_t)test_rand(rng),
        .source_offset = test_rand_long(rng)};
    for (size_t i = 0; i < s->rec.hidden_count; i++)
        s->hidden[i] = (float)test_rand_long(rng) / 1e18f;
    for (size_t i = 0; i < s->rec.recent_count; i++) {
        s->items[i] = test_rand_long(rng);
        s->types[i] = (uint8_t)(test_rand(rng) % SR_EVENT_TYPE_COUNT);
    }
}

static void assert_states_equal(const sr_user_state_record *a, const sr_user_state_record *b) {
    ck_assert_int_eq(a->user_id, b->user_id);
    ck_assert_int_eq(a->model_version, b->model_version);
    ck_assert_uint_eq(a->hidden_count, b->hidden_count);
    ck_assert(memcmp(a->hidden, b->hidden, a->hidden_count * sizeof(float)) == 0);
    ck_assert_uint_eq(a->recent_count, b->recent_count);
    for (size_t i = 0; i < a->recent_count; i++) {
        ck_assert_int_eq(a->recent_items[i], b->recent_items[i]);
        ck_assert_uint_eq(a->recent_types[i], b->recent_types[i]);
    }
    ck_assert_uint_eq(a->applied_events, b->applied_events);
    ck_assert_uint_eq(a->sequence_hash, b->sequence_hash);
    ck_assert_int_eq(a->last_event_time_ms, b->last_event_time_ms);
    ck_assert_int_eq(a->last_scored_at_ms, b->last_scored_at_ms);
    ck_assert_int_eq(a->source_partition, b->source_partition);
    ck_assert_int_eq(a->source_offset, b->source_offset);
}

static sr_status decode(const sr_buffer *buf, state_sample *out, size_t window_cap, sr_error *err) {
    return sr_decode_user_state(buf->data, buf->len, &out->rec, out->hidden, MAX_FLOATS, out->items,
                                out->types, window_cap, err);
}

START_TEST(states_round_trip) {
    uint64_t rng = 11;
    sr_buffer buf = {0};
    sr_error err;
    static state_sample in, back;
    for (int i = 0; i < 300; i++) {
        random_state(&rng, &in);
        sr_buffer_reset(&buf);
        ck_assert_int_eq(sr_encode_user_state(&in.rec, &buf, &err), SR_OK);
        sr_status status = decode(&buf, &back, MAX_WINDOW, &err);
        ck_assert_msg(status == SR_OK, "%s", err.message);
        assert_states_equal(&in.rec, &back.rec);
        ck_assert_ptr_eq(back.rec.hidden, back.hidden);
    }
    sr_buffer_free(&buf);
}
END_TEST

/* avro-c's generic value for a state, field by field from the schema. */
static void set_state(avro_value_t *v, const sr_user_state_record *s) {
    avro_value_t f, item;
    avro_value_get_by_name(v, "user_id", &f, NULL), avro_value_set_long(&f, s->user_id);
    avro_value_get_by_name(v, "model_version", &f, NULL), avro_value_set_long(&f, s->model_version);
    uint8_t bytes[4 * MAX_FLOATS];
    for (size_t i = 0; i < s->hidden_count; i++) {
        uint32_t bits;
        memcpy(&bits, &s->hidden[i], 4);
        for (int k = 0; k < 4; k++) bytes[4 * i + k] = (uint8_t)(bits >> (8 * k));
    }
    avro_value_get_by_name(v, "hidden", &f, NULL), avro_value_set_bytes(&f, bytes, 4 * s->hidden_count);
    avro_value_get_by_name(v, "recent_items", &f, NULL);
    for (size_t i = 0; i < s->recent_count; i++)
        avro_value_append(&f, &item, NULL), avro_value_set_long(&item, s->recent_items[i]);
    uint8_t types[MAX_WINDOW];
    memcpy(types, s->recent_types, s->recent_count);
    avro_value_get_by_name(v, "recent_event_types", &f, NULL);
    avro_value_set_bytes(&f, types, s->recent_count);
    avro_value_get_by_name(v, "applied_events", &f, NULL), avro_value_set_long(&f, (int64_t)s->applied_events);
    avro_value_get_by_name(v, "sequence_hash", &f, NULL), avro_value_set_long(&f, (int64_t)s->sequence_hash);
    avro_value_get_by_name(v, "last_event_time", &f, NULL), avro_value_set_long(&f, s->last_event_time_ms);
    avro_value_get_by_name(v, "last_scored_at", &f, NULL), avro_value_set_long(&f, s->last_scored_at_ms);
    avro_value_get_by_name(v, "source_partition", &f, NULL), avro_value_set_int(&f, s->source_partition);
    avro_value_get_by_name(v, "source_offset", &f, NULL), avro_value_set_long(&f, s->source_offset);
}

START_TEST(states_match_avro_c_both_ways) {
    avro_schema_t schema = test_parse_schema(sr_schema_user_state);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t v;
    ck_assert_int_eq(avro_generic_value_new(iface, &v), 0);
    uint64_t rng = 12;
    sr_buffer ours = {0};
    sr_error err;
    static state_sample in, back;
    static uint8_t ref[8 * MAX_FLOATS];
    for (int i = 0; i < 200; i++) {
        random_state(&rng, &in);
        avro_value_reset(&v);
        set_state(&v, &in.rec);
        size_t n = test_avro_write(&v, ref, sizeof ref);
        ck_assert_int_eq(sr_decode_user_state(ref, n, &back.rec, back.hidden, MAX_FLOATS, back.items,
                                              back.types, MAX_WINDOW, &err), SR_OK);
        assert_states_equal(&in.rec, &back.rec);
        sr_buffer_reset(&ours);
        ck_assert_int_eq(sr_encode_user_state(&in.rec, &ours, &err), SR_OK);
        test_avro_reads_equal(iface, &v, ours.data, ours.len);
    }
    sr_buffer_free(&ours);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
}
END_TEST

START_TEST(damage_is_refused) {
    uint64_t rng = 13;
    static state_sample in, back;
    sr_buffer buf = {0};
    sr_error err;
    random_state(&rng, &in);
    in.rec.recent_count = MAX_WINDOW;
    in.rec.hidden_count = 64;
    ck_assert_int_eq(sr_encode_user_state(&in.rec, &buf, &err), SR_OK);
    for (size_t len = 0; len < buf.len; len++) { /* every strict prefix */
        uint8_t *copy = malloc(len + 1);
        memcpy(copy, buf.data, len);
        sr_status s = sr_decode_user_state(copy, len, &back.rec, back.hidden, MAX_FLOATS, back.items,
                                           back.types, MAX_WINDOW, &err);
        ck_assert_msg(s == SR_ERR_TRUNCATED || s == SR_ERR_INVALID_VALUE, "prefix %zu: %s", len,
                      sr_status_name(s));
        free(copy);
    }
    uint8_t *extra = malloc(buf.len + 1);
    memcpy(extra, buf.data, buf.len);
    extra[buf.len] = 0;
    ck_assert_int_eq(sr_decode_user_state(extra, buf.len + 1, &back.rec, back.hidden, MAX_FLOATS,
                                          back.items, back.types, MAX_WINDOW, &err),
                     SR_ERR_TRAILING_BYTES);
    free(extra);
    /* caps */
    ck_assert_int_eq(decode(&buf, &back, MAX_WINDOW - 1, &err), SR_ERR_LIMIT);
    ck_assert_int_eq(sr_decode_user_state(buf.data, buf.len, &back.rec, back.hidden, 63, back.items,
                                          back.types, MAX_WINDOW, &err), SR_ERR_LIMIT);
    /* what the encoder refuses, out unchanged */
    size_t before = buf.len;
    in.hidden[3] = NAN;
    ck_assert_int_eq(sr_encode_user_state(&in.rec, &buf, &err), SR_ERR_INVALID_VALUE);
    in.hidden[3] = 0.5f;
    in.types[0] = SR_EVENT_TYPE_COUNT;
    ck_assert_int_eq(sr_encode_user_state(&in.rec, &buf, &err), SR_ERR_INVALID_VALUE);
    ck_assert_uint_eq(buf.len, before);
    sr_buffer_free(&buf);
}
END_TEST

/* Hand-built records: what only a foreign writer could produce. */
START_TEST(foreign_records) {
    static state_sample back;
    sr_error err;
    /* user 1, version 1, hidden 3 bytes (not floats) */
    const uint8_t odd_hidden[] = {0x02, 0x02, 0x06, 1, 2, 3};
    ck_assert_int_eq(sr_decode_user_state(odd_hidden, sizeof odd_hidden, &back.rec, back.hidden,
                                          MAX_FLOATS, back.items, back.types, MAX_WINDOW, &err),
                     SR_ERR_INVALID_VALUE);
    /* hidden = one NaN */
    const uint8_t nan_hidden[] = {0x02, 0x02, 0x08, 0, 0, 0xc0, 0x7f};
    ck_assert_int_eq(sr_decode_user_state(nan_hidden, sizeof nan_hidden, &back.rec, back.hidden,
                                          MAX_FLOATS, back.items, back.types, MAX_WINDOW, &err),
                     SR_ERR_INVALID_VALUE);
    /* no hidden, items in a sized block (-1, size 1: item 5) and a plain block
     * (1: item 6), two types; the counters 0, source partition 3, offset 4 */
    const uint8_t blocks[] = {0x02, 0x02, 0x00, 0x01, 0x02, 0x0a, 0x02, 0x0c, 0x00,
                              0x04, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x06, 0x08};
    ck_assert_int_eq(sr_decode_user_state(blocks, sizeof blocks, &back.rec, back.hidden, MAX_FLOATS,
                                          back.items, back.types, MAX_WINDOW, &err), SR_OK);
    ck_assert_uint_eq(back.rec.recent_count, 2);
    ck_assert_int_eq(back.items[0], 5);
    ck_assert_int_eq(back.items[1], 6);
    ck_assert_uint_eq(back.types[1], 2);
    ck_assert_int_eq(back.rec.source_partition, 3);
    ck_assert_int_eq(back.rec.source_offset, 4);
    /* the same with one type byte for two items, then with a type out of range */
    const uint8_t short_types[] = {0x02, 0x02, 0x00, 0x04, 0x0a, 0x0c, 0x00, 0x02, 0x01,
                                   0x00, 0x00, 0x00, 0x00, 0x06, 0x08};
    ck_assert_int_eq(sr_decode_user_state(short_types, sizeof short_types, &back.rec, back.hidden,
                                          MAX_FLOATS, back.items, back.types, MAX_WINDOW, &err),
                     SR_ERR_INVALID_VALUE);
    const uint8_t bad_type[] = {0x02, 0x02, 0x00, 0x02, 0x0a, 0x00, 0x02, 0x09,
                                0x00, 0x00, 0x00, 0x00, 0x06, 0x08};
    ck_assert_int_eq(sr_decode_user_state(bad_type, sizeof bad_type, &back.rec, back.hidden,
                                          MAX_FLOATS, back.items, back.types, MAX_WINDOW, &err),
                     SR_ERR_INVALID_VALUE);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("user_state_codec");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, states_round_trip);
    tcase_add_test(tc, states_match_avro_c_both_ways);
    tcase_add_test(tc, damage_is_refused);
    tcase_add_test(tc, foreign_records);
    suite_add_tcase(s, tc);
    return s;
}
