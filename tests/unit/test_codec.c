/* test_codec.c — the UserEvent decoder and encoders on their own: round trips,
 * edge values, every kind of malformed record with its status, every strict
 * prefix of a record, and the Avro primitives underneath. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "codec/avro_binary.h"
#include "test_codec_util.h"
#include "test_suite.h"

static sr_codec *codec;

static void setup(void) {
    sr_error err;
    ck_assert_int_eq(sr_codec_new(&codec, &err), SR_OK);
}

static void teardown(void) { sr_codec_free(codec); }

/* Decodes from an exactly-sized heap copy, so that ASan sees any read past len. */
static sr_status decode_copy(sr_wire_format wire, const uint8_t *bytes, size_t len, sr_user_event *ev,
                             sr_error *err) {
    uint8_t *copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    if (len) memcpy(copy, bytes, len);
    sr_status s = sr_codec_decode_event(codec, wire, copy, len, ev, err);
    if (s == SR_OK && ev->has_session_id) ev->session_id = (const char *)bytes + (ev->session_id - (char *)copy);
    free(copy);
    return s;
}

static void assert_round_trip(const sr_user_event *e, sr_wire_format wire) {
    sr_buffer buf = {0};
    sr_error err;
    sr_user_event back;
    ck_assert_int_eq(sr_encode_event(e, wire, &buf, &err), SR_OK);
    ck_assert_msg(decode_copy(wire, buf.data, buf.len, &back, &err) == SR_OK, "%s", err.message);
    test_assert_events_equal(e, &back);
    sr_buffer_free(&buf);
}

START_TEST(keys_are_decimal_user_ids) {
    static const struct { const char *key; int64_t id; bool match; } cases[] = {
        {"42", 42, true}, {"0", 0, true}, {"-7", -7, true},
        {"9223372036854775807", INT64_MAX, true}, {"-9223372036854775808", INT64_MIN, true},
        {"042", 42, false}, {"+42", 42, false}, {"42 ", 42, false}, {"4", 42, false},
        {"142", 42, false}, {"-42", 42, false}, {"42", -42, false}, {"", 0, false},
        {"-", 0, false}, {"-0", 0, false}, {"00", 0, false}, {"43", 42, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        ck_assert_msg(sr_key_is_user_id(cases[i].key, strlen(cases[i].key), cases[i].id) == cases[i].match,
                      "key '%s' for user %lld", cases[i].key, (long long)cases[i].id);
    ck_assert(!sr_key_is_user_id(NULL, 0, 0));
    /* Every id of a random sample, against its printf form. */
    uint64_t x = 12345;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t id = (int64_t)x >> (x % 60);
        char key[24];
        int n = snprintf(key, sizeof key, "%lld", (long long)id);
        ck_assert(sr_key_is_user_id(key, (size_t)n, id));
        ck_assert(!sr_key_is_user_id(key, (size_t)n, id + 1));
        int64_t parsed = 0;
        ck_assert(sr_key_user_id(key, (size_t)n, &parsed));
        ck_assert_int_eq(parsed, id);
    }
    /* Parsing: only keys written the way sr_key_is_user_id accepts. */
    static const char *const not_ids[] = {"", "-", "042", "+42", "42 ", " 42", "-0", "abc",
                                          "99999999999999999999", "9223372036854775808"};
    int64_t parsed = 7;
    for (size_t i = 0; i < sizeof not_ids / sizeof *not_ids; i++)
        ck_assert_msg(!sr_key_user_id(not_ids[i], strlen(not_ids[i]), &parsed), "'%s'", not_ids[i]);
    ck_assert(!sr_key_user_id(NULL, 0, &parsed));
    ck_assert_int_eq(parsed, 7);
    ck_assert(sr_key_user_id("-9223372036854775808", 20, &parsed) && parsed == INT64_MIN);
}
END_TEST

START_TEST(random_events_round_trip) {
    uint64_t rng = 42;
    char session[SR_SESSION_ID_MAX + 1];
    int with_session = 0, with_value = 0;
    for (int i = 0; i < 20000; i++) {
        sr_user_event e = test_random_event(&rng, session);
        with_session += e.has_session_id;
        with_value += e.has_value;
        assert_round_trip(&e, i % 2 ? SR_WIRE_REGISTRY : SR_WIRE_PLAIN);
    }
    /* The generator really produces the optional fields. */
    ck_assert_int_gt(with_session, 5000);
    ck_assert_int_gt(with_value, 3000);
}
END_TEST

START_TEST(edge_values_round_trip) {
    static const int64_t longs[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, 63, 64, -64, -65, INT32_MAX,
                                    (int64_t)INT32_MIN - 1, INT64_MAX - 1, INT64_MAX};
    static const double values[] = {0.0, -0.0, DBL_MAX, -DBL_MAX, DBL_MIN, 4.9e-324, 1e-300, 3.5};
    char session[SR_SESSION_ID_MAX];
    memset(session, 'x', sizeof session);
    size_t n = sizeof longs / sizeof longs[0];
    for (size_t i = 0; i < n; i++) {
        sr_user_event e = {.user_id = longs[i], .item_id = longs[n - 1 - i], .event_time_ms = longs[(i + 3) % n],
                           .event_type = (sr_event_type)(i % SR_EVENT_TYPE_COUNT)};
        assert_round_trip(&e, SR_WIRE_PLAIN);
        e.has_session_id = true; /* an empty session id is not an absent one */
        e.session_id = session;
        e.session_id_len = i % 2 ? 0 : SR_SESSION_ID_MAX;
        e.has_value = true;
        e.value = values[i % (sizeof values / sizeof values[0])];
        assert_round_trip(&e, SR_WIRE_REGISTRY);
    }
}
END_TEST

START_TEST(empty_and_absent_session_differ) {
    sr_user_event e = {.user_id = 1, .has_session_id = true, .session_id = "", .session_id_len = 0};
    sr_buffer a = {0}, b = {0};
    sr_error err;
    sr_user_event back;
    ck_assert_int_eq(sr_encode_event(&e, SR_WIRE_PLAIN, &a, &err), SR_OK);
    e.has_session_id = false;
    ck_assert_int_eq(sr_encode_event(&e, SR_WIRE_PLAIN, &b, &err), SR_OK);
    ck_assert_uint_eq(a.len, b.len + 1);
    ck_assert_int_eq(sr_codec_decode_event(codec, SR_WIRE_PLAIN, a.data, a.len, &back, &err), SR_OK);
    ck_assert(back.has_session_id);
    ck_assert_uint_eq(back.session_id_len, 0);
    ck_assert_int_eq(sr_codec_decode_event(codec, SR_WIRE_PLAIN, b.data, b.len, &back, &err), SR_OK);
    ck_assert(!back.has_session_id);
    sr_buffer_free(&a);
    sr_buffer_free(&b);
}
END_TEST

START_TEST(encoder_refuses_what_decoder_refuses) {
    sr_buffer buf = {0};
    sr_error err;
    char session[SR_SESSION_ID_MAX + 1] = {0};
    sr_user_event e = {.has_value = true, .value = NAN};
    ck_assert_int_eq(sr_encode_event(&e, SR_WIRE_PLAIN, &buf, &err), SR_ERR_INVALID_VALUE);
    e.value = INFINITY;
    ck_assert_int_eq(sr_encode_event(&e, SR_WIRE_PLAIN, &buf, &err), SR_ERR_INVALID_VALUE);
    e = (sr_user_event){.has_session_id = true, .session_id = session, .session_id_len = SR_SESSION_ID_MAX + 1};
    ck_assert_int_eq(sr_encode_event(&e, SR_WIRE_PLAIN, &buf, &err), SR_ERR_INVALID_VALUE);
    e = (sr_user_event){.event_type = SR_EVENT_TYPE_COUNT};
    ck_assert_int_eq(sr_encode_event(&e, SR_WIRE_PLAIN, &buf, &err), SR_ERR_INVALID_VALUE);
    ck_assert_int_eq(sr_encode_event(&e, (sr_wire_format)7, &buf, &err), SR_ERR_INVALID_ARG);
    ck_assert_uint_eq(buf.len, 0);
    sr_buffer_free(&buf);
}
END_TEST

/* A plain record by hand: ids 1, 2, CLICK, time 3, then the two unions. */
static const uint8_t base_record[] = {0x02, 0x04, 0x02, 0x06};

static size_t build(uint8_t *out, const uint8_t *tail, size_t tail_len) {
    memcpy(out, base_record, sizeof base_record);
    memcpy(out + sizeof base_record, tail, tail_len);
    return sizeof base_record + tail_len;
}

static void assert_plain_fails(const uint8_t *tail, size_t tail_len, sr_status want, const char *field,
                               const char *where) {
    uint8_t rec[512];
    size_t len = build(rec, tail, tail_len);
    sr_user_event ev;
    sr_error err;
    ck_assert_int_eq(decode_copy(SR_WIRE_PLAIN, rec, len, &ev, &err), want);
    ck_assert_int_eq(err.status, want);
    if (field) ck_assert_msg(strstr(err.message, field), "'%s' lacks '%s'", err.message, field);
    if (where) ck_assert_msg(strstr(err.message, where), "'%s' lacks '%s'", err.message, where);
}

START_TEST(hand_built_record_decodes) {
    uint8_t rec[512];
    const uint8_t tail[] = {0x02, 0x04, 'a', 'b', 0x02, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f};
    size_t len = build(rec, tail, sizeof tail);
    sr_user_event ev;
    sr_error err;
    ck_assert_int_eq(decode_copy(SR_WIRE_PLAIN, rec, len, &ev, &err), SR_OK);
    ck_assert_int_eq(ev.user_id, 1);
    ck_assert_int_eq(ev.item_id, 2);
    ck_assert_int_eq(ev.event_type, SR_EVENT_CLICK);
    ck_assert_int_eq(ev.event_time_ms, 3);
    ck_assert_uint_eq(ev.session_id_len, 2);
    ck_assert(memcmp(ev.session_id, "ab", 2) == 0);
    ck_assert(ev.value == 1.0);
}
END_TEST

START_TEST(malformed_records_have_their_status) {
    const uint8_t nan[] = {0x00, 0x02, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f};
    assert_plain_fails(nan, sizeof nan, SR_ERR_INVALID_VALUE, "value", "byte 6");
    const uint8_t inf[] = {0x00, 0x02, 0, 0, 0, 0, 0, 0, 0xf0, 0xff};
    assert_plain_fails(inf, sizeof inf, SR_ERR_INVALID_VALUE, "value", NULL);
    const uint8_t union_high[] = {0x04, 0x00};
    assert_plain_fails(union_high, sizeof union_high, SR_ERR_BAD_UNION, "session_id", "byte 4");
    const uint8_t union_negative[] = {0x00, 0x01};
    assert_plain_fails(union_negative, sizeof union_negative, SR_ERR_BAD_UNION, "value", "byte 5");
    const uint8_t negative_length[] = {0x02, 0x01, 0x00};
    assert_plain_fails(negative_length, sizeof negative_length, SR_ERR_BAD_LENGTH, "session_id", "byte 5");
    const uint8_t huge_length[] = {0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00};
    assert_plain_fails(huge_length, sizeof huge_length, SR_ERR_BAD_LENGTH, "session_id", NULL);
    const uint8_t short_string[] = {0x02, 0x0a, 'a', 'b', 0x00};
    assert_plain_fails(short_string, sizeof short_string, SR_ERR_TRUNCATED, "session_id", "byte 5");
    const uint8_t trailing[] = {0x00, 0x00, 0x00};
    assert_plain_fails(trailing, sizeof trailing, SR_ERR_TRAILING_BYTES, NULL, "byte 6");
    uint8_t long_session[3 + SR_SESSION_ID_MAX + 2] = {0x02, 0x82, 0x04}; /* length 257, then null value */
    assert_plain_fails(long_session, sizeof long_session, SR_ERR_INVALID_VALUE, "session_id", NULL);
}
END_TEST

START_TEST(bad_enum_and_varints) {
    sr_user_event ev;
    sr_error err;
    const uint8_t enum_high[] = {0x02, 0x04, 0x08, 0x06, 0x00, 0x00};
    ck_assert_int_eq(decode_copy(SR_WIRE_PLAIN, enum_high, sizeof enum_high, &ev, &err), SR_ERR_BAD_ENUM);
    ck_assert(strstr(err.message, "event_type") && strstr(err.message, "byte 2"));
    const uint8_t enum_negative[] = {0x02, 0x04, 0x01, 0x06, 0x00, 0x00};
    ck_assert_int_eq(decode_copy(SR_WIRE_PLAIN, enum_negative, sizeof enum_negative, &ev, &err), SR_ERR_BAD_ENUM);
    /* 11 bytes: ten continuation bytes, then more. */
    const uint8_t too_long[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00};
    ck_assert_int_eq(decode_copy(SR_WIRE_PLAIN, too_long, sizeof too_long, &ev, &err), SR_ERR_BAD_VARINT);
    ck_assert(strstr(err.message, "user_id") && strstr(err.message, "byte 0"));
    /* 10 bytes whose last carries more than the 64th bit. */
    const uint8_t overflow[] = {0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    ck_assert_int_eq(decode_copy(SR_WIRE_PLAIN, overflow, sizeof overflow, &ev, &err), SR_ERR_BAD_VARINT);
    ck_assert(strstr(err.message, "item_id") && strstr(err.message, "byte 1"));
}
END_TEST

START_TEST(registry_framing_errors) {
    sr_user_event e = {.user_id = 5}, ev;
    sr_buffer buf = {0};
    sr_error err;
    ck_assert_int_eq(sr_encode_event(&e, SR_WIRE_REGISTRY, &buf, &err), SR_OK);
    ck_assert_uint_eq(buf.data[4], 1);
    buf.data[0] = 1;
    ck_assert_int_eq(decode_copy(SR_WIRE_REGISTRY, buf.data, buf.len, &ev, &err), SR_ERR_BAD_MAGIC);
    ck_assert_int_eq(decode_copy(SR_WIRE_REGISTRY, buf.data, 1, &ev, &err), SR_ERR_BAD_MAGIC);
    buf.data[0] = 0;
    buf.data[1] = 0x80; /* id -2^31 + 1 */
    ck_assert_int_eq(decode_copy(SR_WIRE_REGISTRY, buf.data, buf.len, &ev, &err), SR_ERR_UNKNOWN_SCHEMA);
    buf.data[1] = 0;
    buf.data[4] = 2;
    ck_assert_int_eq(decode_copy(SR_WIRE_REGISTRY, buf.data, buf.len, &ev, &err), SR_ERR_UNKNOWN_SCHEMA);
    ck_assert(strstr(err.message, "schema id 2"));
    for (size_t len = 0; len < 5; len++)
        ck_assert_int_eq(decode_copy(SR_WIRE_REGISTRY, buf.data, len, &ev, &err), SR_ERR_TRUNCATED);
    ck_assert_int_eq(sr_codec_decode_event(codec, SR_WIRE_PLAIN, NULL, 0, &ev, &err), SR_ERR_TRUNCATED);
    ck_assert_int_eq(sr_codec_decode_event(codec, (sr_wire_format)9, buf.data, buf.len, &ev, &err),
                     SR_ERR_INVALID_ARG);
    sr_buffer_free(&buf);
}
END_TEST

/* Every strict prefix of a valid record is SR_ERR_TRUNCATED, never a read past it. */
START_TEST(every_strict_prefix_is_truncated) {
    uint64_t rng = 7;
    char session[SR_SESSION_ID_MAX + 1];
    sr_buffer buf = {0};
    sr_error err;
    sr_user_event ev;
    for (int i = 0; i < 300; i++) {
        sr_user_event e = test_random_event(&rng, session);
        e.has_session_id = e.has_session_id || i % 3 == 0;
        if (!e.session_id) e.session_id = "";
        e.has_value = i % 2;
        sr_wire_format wire = i % 4 < 2 ? SR_WIRE_PLAIN : SR_WIRE_REGISTRY;
        sr_buffer_reset(&buf);
        ck_assert_int_eq(sr_encode_event(&e, wire, &buf, &err), SR_OK);
        for (size_t len = 0; len < buf.len; len++) {
            sr_status s = decode_copy(wire, buf.data, len, &ev, &err);
            ck_assert_msg(s == SR_ERR_TRUNCATED, "prefix %zu/%zu: %s", len, buf.len, sr_status_name(s));
        }
        ck_assert_int_eq(decode_copy(wire, buf.data, buf.len, &ev, &err), SR_OK);
    }
    sr_buffer_free(&buf);
}
END_TEST

START_TEST(varint_boundaries) {
    uint8_t bytes[SR_AVRO_MAX_VARINT];
    for (int bit = 0; bit < 64; bit++) {
        /* Unsigned arithmetic: at bit 63 these wrap to INT64_MIN/MAX, as intended. */
        uint64_t base = (uint64_t)1 << bit;
        const int64_t vs[] = {(int64_t)base, (int64_t)(base - 1), (int64_t)(0 - base), (int64_t)(1 - base),
                              (int64_t)(base + 1)};
        for (int k = 0; k < 5; k++) {
            size_t n = sr_avro_put_long(bytes, vs[k]);
            ck_assert_uint_le(n, SR_AVRO_MAX_VARINT);
            sr_avro_reader r = sr_avro_reader_make(bytes, n);
            int64_t back;
            ck_assert_int_eq(sr_avro_read_long(&r, "x", &back, NULL), SR_OK);
            ck_assert_int_eq(back, vs[k]);
            ck_assert_uint_eq(sr_avro_remaining(&r), 0);
        }
    }
    ck_assert_uint_eq(sr_avro_put_long(bytes, INT64_MIN), 10);
    /* A non-canonical (padded) encoding is still a valid varint. */
    const uint8_t padded[] = {0x82, 0x80, 0x00};
    sr_avro_reader r = sr_avro_reader_make(padded, sizeof padded);
    int64_t v;
    ck_assert_int_eq(sr_avro_read_long(&r, "x", &v, NULL), SR_OK);
    ck_assert_int_eq(v, 1);
}
END_TEST

START_TEST(int_range_is_enforced) {
    uint8_t bytes[SR_AVRO_MAX_VARINT];
    int32_t v;
    sr_error err;
    size_t n = sr_avro_put_long(bytes, (int64_t)INT32_MAX + 1);
    sr_avro_reader r = sr_avro_reader_make(bytes, n);
    ck_assert_int_eq(sr_avro_read_int(&r, "partition", &v, &err), SR_ERR_BAD_VARINT);
    ck_assert_ptr_eq(r.pos, bytes); /* a failed read consumes nothing */
    n = sr_avro_put_long(bytes, INT32_MIN);
    r = sr_avro_reader_make(bytes, n);
    ck_assert_int_eq(sr_avro_read_int(&r, "partition", &v, &err), SR_OK);
    ck_assert_int_eq(v, INT32_MIN);
}
END_TEST

static const sr_recommended_item items[] = {{42, 0.5f}, {INT64_MIN, -1e30f}, {INT64_MAX, 0.0f}};

static sr_recommendation sample_recommendation(void) {
    return (sr_recommendation){.user_id = -7, .model_version = 3, .generated_at_ms = 1700000000000,
                               .last_event_time_ms = 1699999999999, .source_partition = INT32_MIN,
                               .source_offset = INT64_MAX, .items = items, .item_count = 3};
}

START_TEST(recommendation_round_trip_and_limits) {
    sr_recommendation rec = sample_recommendation(), back;
    sr_recommended_item got[3];
    sr_buffer buf = {0};
    sr_error err;
    ck_assert_int_eq(sr_encode_recommendation(&rec, &buf, &err), SR_OK);
    ck_assert_int_eq(sr_decode_recommendation(buf.data, buf.len, &back, got, 3, &err), SR_OK);
    ck_assert_int_eq(back.user_id, -7);
    ck_assert_int_eq(back.source_partition, INT32_MIN);
    ck_assert_int_eq(back.source_offset, INT64_MAX);
    ck_assert_uint_eq(back.item_count, 3);
    ck_assert_ptr_eq(back.items, got);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(got[i].item_id, items[i].item_id);
        ck_assert(got[i].score == items[i].score);
    }
    ck_assert_int_eq(sr_decode_recommendation(buf.data, buf.len, &back, got, 2, &err), SR_ERR_LIMIT);
    for (size_t len = 0; len < buf.len; len++) {
        uint8_t *copy = malloc(len + 1);
        memcpy(copy, buf.data, len);
        ck_assert_int_eq(sr_decode_recommendation(copy, len, &back, got, 3, &err), SR_ERR_TRUNCATED);
        free(copy);
    }
    uint8_t extra[128];
    memcpy(extra, buf.data, buf.len);
    extra[buf.len] = 0;
    ck_assert_int_eq(sr_decode_recommendation(extra, buf.len + 1, &back, got, 3, &err), SR_ERR_TRAILING_BYTES);
    sr_buffer_free(&buf);
}
END_TEST

START_TEST(recommendation_blocks_with_sizes) {
    /* Two blocks: count -1 with a byte size (item 5, score 1.0), then count 1. */
    const uint8_t rec[] = {0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
                           0x01, 0x0a, 0x0a, 0, 0, 0x80, 0x3f,
                           0x02, 0x0c, 0, 0, 0, 0x40, 0x00};
    sr_recommendation back;
    sr_recommended_item got[4];
    sr_error err;
    ck_assert_int_eq(sr_decode_recommendation(rec, sizeof rec, &back, got, 4, &err), SR_OK);
    ck_assert_uint_eq(back.item_count, 2);
    ck_assert_int_eq(got[0].item_id, 5);
    ck_assert(got[0].score == 1.0f);
    ck_assert_int_eq(got[1].item_id, 6);
    ck_assert(got[1].score == 2.0f);
    sr_recommendation empty = {.user_id = 1}, empty_back;
    sr_buffer buf = {0};
    ck_assert_int_eq(sr_encode_recommendation(&empty, &buf, &err), SR_OK);
    ck_assert_int_eq(sr_decode_recommendation(buf.data, buf.len, &empty_back, NULL, 0, &err), SR_OK);
    ck_assert_uint_eq(empty_back.item_count, 0);
    sr_buffer_free(&buf);
}
END_TEST

START_TEST(wire_format_names) {
    ck_assert_int_eq(sr_wire_format_parse("plain"), SR_WIRE_PLAIN);
    ck_assert_int_eq(sr_wire_format_parse("registry"), SR_WIRE_REGISTRY);
    ck_assert_int_eq(sr_wire_format_parse("json"), -1);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, random_events_round_trip);
    tcase_add_test(tc, edge_values_round_trip);
    tcase_add_test(tc, empty_and_absent_session_differ);
    tcase_add_test(tc, encoder_refuses_what_decoder_refuses);
    tcase_add_test(tc, hand_built_record_decodes);
    tcase_add_test(tc, malformed_records_have_their_status);
    tcase_add_test(tc, bad_enum_and_varints);
    tcase_add_test(tc, registry_framing_errors);
    tcase_add_test(tc, every_strict_prefix_is_truncated);
    tcase_add_test(tc, varint_boundaries);
    tcase_add_test(tc, int_range_is_enforced);
    tcase_add_test(tc, recommendation_round_trip_and_limits);
    tcase_add_test(tc, recommendation_blocks_with_sizes);
    tcase_add_test(tc, wire_format_names);
    tcase_add_test(tc, keys_are_decimal_user_ids);
    suite_add_tcase(s, tc);
    return s;
}
