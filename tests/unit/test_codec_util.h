/*
 * test_codec_util.h — helpers shared by the codec tests (test_codec*.c): a
 * deterministic generator of events, event comparison, registry framing, and
 * writing/reading UserEvents with avro-c's generic value API, the reference
 * implementation our decoder and encoders are checked against.
 *
 * Header-only (static functions) because each test file builds on its own.
 */
#ifndef TEST_CODEC_UTIL_H
#define TEST_CODEC_UTIL_H

#include <avro.h>
#include <check.h>
#include <string.h>

#include "sr_codec.h"

/* xorshift64*: the same sequence on every run and platform. */
static inline uint64_t test_rand(uint64_t *state) {
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* A 64-bit id of random magnitude and sign, so every varint length occurs. */
static inline int64_t test_rand_long(uint64_t *state) {
    uint64_t v = test_rand(state) >> (test_rand(state) % 64);
    return (test_rand(state) & 1) ? (int64_t)v : -(int64_t)(v >> 1);
}

/* A random valid event; the session id bytes go to session (SR_SESSION_ID_MAX+1). */
static inline sr_user_event test_random_event(uint64_t *state, char *session) {
    sr_user_event e = {0};
    e.user_id = test_rand_long(state);
    e.item_id = test_rand_long(state);
    e.event_type = (sr_event_type)(test_rand(state) % SR_EVENT_TYPE_COUNT);
    e.event_time_ms = test_rand_long(state);
    if (test_rand(state) % 10 < 3) {
        uint64_t pick = test_rand(state) % 20;
        e.session_id_len = pick == 0 ? 0 : pick == 1 ? SR_SESSION_ID_MAX : test_rand(state) % 40;
        for (size_t i = 0; i < e.session_id_len; i++) session[i] = (char)('a' + test_rand(state) % 26);
        session[e.session_id_len] = '\0';
        e.has_session_id = true;
        e.session_id = session;
    }
    if (test_rand(state) % 10 < 2) {
        e.has_value = true;
        e.value = (double)test_rand_long(state) / 1024.0;
    }
    return e;
}

static inline void test_assert_events_equal(const sr_user_event *a, const sr_user_event *b) {
    ck_assert_int_eq(a->user_id, b->user_id);
    ck_assert_int_eq(a->item_id, b->item_id);
    ck_assert_int_eq(a->event_type, b->event_type);
    ck_assert_int_eq(a->event_time_ms, b->event_time_ms);
    ck_assert_int_eq(a->has_session_id, b->has_session_id);
    if (a->has_session_id) {
        ck_assert_uint_eq(a->session_id_len, b->session_id_len);
        ck_assert(memcmp(a->session_id, b->session_id, a->session_id_len) == 0);
    }
    ck_assert_int_eq(a->has_value, b->has_value);
    if (a->has_value) ck_assert(memcmp(&a->value, &b->value, sizeof a->value) == 0);
}

/* Writes the registry header for id in front of nothing (5 bytes). */
static inline size_t test_put_header(uint8_t *p, int32_t id) {
    p[0] = 0;
    p[1] = (uint8_t)((uint32_t)id >> 24);
    p[2] = (uint8_t)((uint32_t)id >> 16);
    p[3] = (uint8_t)((uint32_t)id >> 8);
    p[4] = (uint8_t)id;
    return 5;
}

static inline avro_schema_t test_parse_schema(const char *json) {
    avro_schema_t schema;
    ck_assert_msg(avro_schema_from_json_length(json, strlen(json), &schema) == 0, "%s", avro_strerror());
    return schema;
}

/* Sets the UserEvent fields of rec (a generic record of any schema version that
 * has them with the v1 types) from e. */
static inline void test_avro_set_event(avro_value_t *rec, const sr_user_event *e) {
    avro_value_t field, branch;
    ck_assert_int_eq(avro_value_get_by_name(rec, "user_id", &field, NULL), 0);
    ck_assert_int_eq(avro_value_set_long(&field, e->user_id), 0);
    ck_assert_int_eq(avro_value_get_by_name(rec, "item_id", &field, NULL), 0);
    ck_assert_int_eq(avro_value_set_long(&field, e->item_id), 0);
    ck_assert_int_eq(avro_value_get_by_name(rec, "event_type", &field, NULL), 0);
    ck_assert_int_eq(avro_value_set_enum(&field, (int)e->event_type), 0);
    ck_assert_int_eq(avro_value_get_by_name(rec, "event_time", &field, NULL), 0);
    ck_assert_int_eq(avro_value_set_long(&field, e->event_time_ms), 0);
    ck_assert_int_eq(avro_value_get_by_name(rec, "session_id", &field, NULL), 0);
    ck_assert_int_eq(avro_value_set_branch(&field, e->has_session_id, &branch), 0);
    if (e->has_session_id) {
        char copy[SR_SESSION_ID_MAX + 1];
        memcpy(copy, e->session_id, e->session_id_len);
        copy[e->session_id_len] = '\0';
        ck_assert_int_eq(avro_value_set_string_len(&branch, copy, e->session_id_len + 1), 0);
    }
    ck_assert_int_eq(avro_value_get_by_name(rec, "value", &field, NULL), 0);
    ck_assert_int_eq(avro_value_set_branch(&field, e->has_value, &branch), 0);
    if (e->has_value) ck_assert_int_eq(avro_value_set_double(&branch, e->value), 0);
}

/* Serialises rec with avro-c into buf; returns the length. */
static inline size_t test_avro_write(avro_value_t *rec, uint8_t *buf, size_t cap) {
    avro_writer_t w = avro_writer_memory((char *)buf, (int64_t)cap);
    ck_assert_msg(avro_value_write(w, rec) == 0, "%s", avro_strerror());
    size_t n = (size_t)avro_writer_tell(w);
    avro_writer_free(w);
    return n;
}

/* Asserts that avro-c reads bytes (written by our encoder) into a value equal
 * to expected, a value of iface's schema. */
static inline void test_avro_reads_equal(avro_value_iface_t *iface, avro_value_t *expected,
                                         const uint8_t *buf, size_t len) {
    avro_value_t read;
    ck_assert_int_eq(avro_generic_value_new(iface, &read), 0);
    avro_reader_t r = avro_reader_memory((const char *)buf, (int64_t)len);
    ck_assert_msg(avro_value_read(r, &read) == 0, "%s", avro_strerror());
    ck_assert(avro_value_equal(expected, &read));
    avro_reader_free(r);
    avro_value_decref(&read);
}

/* Reads a UserEvent from bytes with avro-c into e (session copied to session). */
static inline void test_avro_read_event(avro_value_t *rec, const uint8_t *buf, size_t len,
                                        sr_user_event *e, char *session) {
    avro_reader_t r = avro_reader_memory((const char *)buf, (int64_t)len);
    ck_assert_msg(avro_value_read(r, rec) == 0, "%s", avro_strerror());
    avro_reader_free(r);
    avro_value_t field, branch;
    int discriminant = -1, symbol = -1;
    *e = (sr_user_event){0};
    ck_assert_int_eq(avro_value_get_by_name(rec, "user_id", &field, NULL), 0);
    ck_assert_int_eq(avro_value_get_long(&field, &e->user_id), 0);
    ck_assert_int_eq(avro_value_get_by_name(rec, "item_id", &field, NULL), 0);
    ck_assert_int_eq(avro_value_get_long(&field, &e->item_id), 0);
    ck_assert_int_eq(avro_value_get_by_name(rec, "event_type", &field, NULL), 0);
    ck_assert_int_eq(avro_value_get_enum(&field, &symbol), 0);
    e->event_type = (sr_event_type)symbol;
    ck_assert_int_eq(avro_value_get_by_name(rec, "event_time", &field, NULL), 0);
    ck_assert_int_eq(avro_value_get_long(&field, &e->event_time_ms), 0);
    ck_assert_int_eq(avro_value_get_by_name(rec, "session_id", &field, NULL), 0);
    ck_assert_int_eq(avro_value_get_discriminant(&field, &discriminant), 0);
    if (discriminant == 1) {
        const char *s = NULL;
        size_t size = 0;
        ck_assert_int_eq(avro_value_get_current_branch(&field, &branch), 0);
        ck_assert_int_eq(avro_value_get_string(&branch, &s, &size), 0);
        ck_assert_uint_ge(size, 1);
        e->has_session_id = true;
        e->session_id_len = size - 1; /* avro-c counts the NUL */
        memcpy(session, s, size);
        e->session_id = session;
    }
    ck_assert_int_eq(avro_value_get_by_name(rec, "value", &field, NULL), 0);
    ck_assert_int_eq(avro_value_get_discriminant(&field, &discriminant), 0);
    if (discriminant == 1) {
        ck_assert_int_eq(avro_value_get_current_branch(&field, &branch), 0);
        ck_assert_int_eq(avro_value_get_double(&branch, &e->value), 0);
        e->has_value = true;
    }
}

#endif
