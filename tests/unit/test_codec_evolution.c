/* test_codec_evolution.c — schema resolution: writer schemas that add, drop,
 * reorder and promote fields, enums mapped by symbol name, the generic skipper
 * on every Avro type (and on damage inside skipped fields), rejection at
 * registration, and loading schemas from a map file. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test_codec_util.h"
#include "test_suite.h"

#define ENUM_V1 "{\"type\":\"enum\",\"name\":\"EventType\",\"symbols\":[\"VIEW\",\"CLICK\",\"ADD_TO_CART\",\"PURCHASE\"]}"

/* v2: the v1 fields reordered, plus optional page, device, tags, extras, flags. */
static const char schema_v2[] =
    "{\"type\":\"record\",\"name\":\"UserEvent\",\"namespace\":\"io.streamrec\",\"fields\":["
    "{\"name\":\"event_time\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"
    "{\"name\":\"page\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"event_type\",\"type\":" ENUM_V1 "},"
    "{\"name\":\"device\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Device\",\"fields\":["
    "{\"name\":\"os\",\"type\":\"string\"},{\"name\":\"model\",\"type\":\"string\"}]}],\"default\":null},"
    "{\"name\":\"user_id\",\"type\":\"long\"},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"},\"default\":[]},"
    "{\"name\":\"value\",\"type\":[\"null\",\"double\"],\"default\":null},"
    "{\"name\":\"item_id\",\"type\":\"long\"},"
    "{\"name\":\"extras\",\"type\":{\"type\":\"map\",\"values\":{\"type\":\"fixed\",\"name\":\"Hash\",\"size\":4}},"
    "\"default\":{}},"
    "{\"name\":\"flags\",\"type\":{\"type\":\"record\",\"name\":\"Flags\",\"fields\":["
    "{\"name\":\"bot\",\"type\":\"boolean\"},{\"name\":\"weight\",\"type\":\"float\"},"
    "{\"name\":\"score\",\"type\":\"double\"},{\"name\":\"n\",\"type\":\"int\"},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"Kind\",\"symbols\":[\"A\",\"B\"]}},"
    "{\"name\":\"raw\",\"type\":\"bytes\"},{\"name\":\"same\",\"type\":[\"null\",\"Device\"]}]}},"
    "{\"name\":\"session_id\",\"type\":[\"null\",\"string\"],\"default\":null}]}";

static sr_codec *codec;

static void setup(void) {
    sr_error err;
    ck_assert_int_eq(sr_codec_new(&codec, &err), SR_OK);
}

static void teardown(void) { sr_codec_free(codec); }

static void register_ok(int32_t id, const char *json) {
    sr_error err;
    ck_assert_msg(sr_codec_register_schema(codec, id, json, &err) == SR_OK, "%s", err.message);
}

static void register_fails(const char *json, const char *mention) {
    sr_error err;
    ck_assert_int_eq(sr_codec_register_schema(codec, 50, json, &err), SR_ERR_SCHEMA);
    ck_assert_msg(strstr(err.message, mention), "'%s' lacks '%s'", err.message, mention);
}

/* Decodes registry-framed bytes from an exactly-sized heap copy. */
static sr_status decode_framed(int32_t id, const uint8_t *body, size_t len, sr_user_event *ev, sr_error *err) {
    uint8_t *copy = malloc(len + 5);
    test_put_header(copy, id);
    memcpy(copy + 5, body, len);
    sr_status s = sr_codec_decode_event(codec, SR_WIRE_REGISTRY, copy, len + 5, ev, err);
    if (s == SR_OK && ev->has_session_id) ev->session_id = NULL; /* the copy goes away; ev is unset on failure */
    free(copy);
    return s;
}

static void set_string(avro_value_t *v, const char *s) {
    ck_assert_int_eq(avro_value_set_string(v, s), 0);
}

/* The v2-only fields, varied by i so that each shape of value occurs. */
static void set_v2_extras(avro_value_t *rec, int i) {
    avro_value_t f, b, c, d;
    avro_value_get_by_name(rec, "page", &f, NULL);
    avro_value_set_branch(&f, i % 2, &b);
    if (i % 2) set_string(&b, "/products/42");
    avro_value_get_by_name(rec, "device", &f, NULL);
    avro_value_set_branch(&f, i % 3 != 0, &b);
    if (i % 3) {
        avro_value_get_by_name(&b, "os", &c, NULL);
        set_string(&c, "android");
        avro_value_get_by_name(&b, "model", &c, NULL);
        set_string(&c, i % 2 ? "" : "pixel 8");
    }
    avro_value_get_by_name(rec, "tags", &f, NULL);
    for (int t = 0; t < i % 4; t++) {
        avro_value_append(&f, &c, NULL);
        set_string(&c, t % 2 ? "sale" : "new");
    }
    avro_value_get_by_name(rec, "extras", &f, NULL);
    for (int t = 0; t < i % 3; t++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", t);
        avro_value_add(&f, key, &c, NULL, NULL);
        char hash[] = "abcd";
        avro_value_set_fixed(&c, hash, 4);
    }
    avro_value_get_by_name(rec, "flags", &f, NULL);
    avro_value_get_by_name(&f, "bot", &c, NULL);
    avro_value_set_boolean(&c, i % 2);
    avro_value_get_by_name(&f, "weight", &c, NULL);
    avro_value_set_float(&c, 0.25f * (float)i);
    avro_value_get_by_name(&f, "score", &c, NULL);
    avro_value_set_double(&c, -1.5 * i);
    avro_value_get_by_name(&f, "n", &c, NULL);
    avro_value_set_int(&c, -i * 1000);
    avro_value_get_by_name(&f, "kind", &c, NULL);
    avro_value_set_enum(&c, i % 2);
    avro_value_get_by_name(&f, "raw", &c, NULL);
    char raw[] = "\x00\x01\x02";
    avro_value_set_bytes(&c, raw, (size_t)(i % 4));
    avro_value_get_by_name(&f, "same", &c, NULL);
    avro_value_set_branch(&c, 1, &d);
    avro_value_get_by_name(&d, "os", &b, NULL);
    set_string(&b, "ios");
    avro_value_get_by_name(&d, "model", &b, NULL);
    set_string(&b, "x");
}

START_TEST(v2_written_by_avro_c_decodes) {
    register_ok(7, schema_v2);
    avro_schema_t schema = test_parse_schema(schema_v2);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t rec;
    ck_assert_int_eq(avro_generic_value_new(iface, &rec), 0);
    uint64_t rng = 77;
    char session[SR_SESSION_ID_MAX + 1];
    uint8_t buf[4096];
    sr_error err;
    for (int i = 0; i < 3000; i++) {
        sr_user_event e = test_random_event(&rng, session), back;
        avro_value_reset(&rec);
        test_avro_set_event(&rec, &e);
        set_v2_extras(&rec, i);
        size_t n = test_avro_write(&rec, buf + 5, sizeof buf - 5);
        test_put_header(buf, 7);
        ck_assert_msg(sr_codec_decode_event(codec, SR_WIRE_REGISTRY, buf, n + 5, &back, &err) == SR_OK,
                      "%s", err.message);
        test_assert_events_equal(&e, &back);
        /* The same bytes under id 1 are not a v1 record. */
        ck_assert_int_ne(sr_codec_decode_event(codec, SR_WIRE_PLAIN, buf + 5, n, &back, &err), SR_OK);
        if (i % 50) continue;
        for (size_t len = 0; len < n; len++)
            ck_assert_int_eq(decode_framed(7, buf + 5, len, &back, &err), SR_ERR_TRUNCATED);
    }
    avro_value_decref(&rec);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
}
END_TEST

static const char schema_promoted[] =
    "{\"type\":\"record\",\"name\":\"UserEvent\",\"fields\":["
    "{\"name\":\"value\",\"type\":[\"long\",\"null\",\"float\",\"int\",\"double\"]},"
    "{\"name\":\"user_id\",\"type\":\"int\"},"
    "{\"name\":\"item_id\",\"type\":[\"null\",\"long\",\"int\"]},"
    "{\"name\":\"event_type\",\"type\":[\"null\",{\"type\":\"enum\",\"name\":\"EventType\","
    "\"symbols\":[\"PURCHASE\",\"SHARE\",\"VIEW\",\"CLICK\",\"ADD_TO_CART\"]}]},"
    "{\"name\":\"event_time\",\"type\":\"int\"},"
    "{\"name\":\"session_id\",\"type\":\"bytes\"}]}";

/* Writes a schema_promoted record with avro-c; branch choices come from k. */
static size_t write_promoted(avro_value_t *rec, int k, uint8_t *buf, size_t cap) {
    avro_value_t f, b;
    avro_value_reset(rec);
    avro_value_get_by_name(rec, "value", &f, NULL);
    avro_value_set_branch(&f, k % 5, &b);
    if (k % 5 == 0) avro_value_set_long(&b, -(1LL << 40));
    if (k % 5 == 2) avro_value_set_float(&b, 2.5f);
    if (k % 5 == 3) avro_value_set_int(&b, INT32_MIN);
    if (k % 5 == 4) avro_value_set_double(&b, 1e300);
    avro_value_get_by_name(rec, "user_id", &f, NULL);
    avro_value_set_int(&f, INT32_MAX);
    avro_value_get_by_name(rec, "item_id", &f, NULL);
    avro_value_set_branch(&f, k % 3, &b);
    if (k % 3 == 1) avro_value_set_long(&b, INT64_MIN);
    if (k % 3 == 2) avro_value_set_int(&b, -5);
    avro_value_get_by_name(rec, "event_type", &f, NULL);
    avro_value_set_branch(&f, 1, &b);
    avro_value_set_enum(&b, k % 5);
    avro_value_get_by_name(rec, "event_time", &f, NULL);
    avro_value_set_int(&f, -1);
    avro_value_get_by_name(rec, "session_id", &f, NULL);
    char session[] = "s-1";
    avro_value_set_bytes(&f, session, 3);
    return test_avro_write(rec, buf, cap);
}

START_TEST(promotions_unions_and_enum_by_name) {
    register_ok(8, schema_promoted);
    avro_schema_t schema = test_parse_schema(schema_promoted);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t rec;
    avro_generic_value_new(iface, &rec);
    static const double values[] = {-1099511627776.0, 0, 2.5, (double)INT32_MIN, 1e300};
    /* Writer symbol index -> the reader's event type, or -1 for SHARE. */
    static const int types[] = {SR_EVENT_PURCHASE, -1, SR_EVENT_VIEW, SR_EVENT_CLICK, SR_EVENT_ADD_TO_CART};
    for (int k = 0; k < 30; k++) {
        uint8_t buf[256];
        size_t n = write_promoted(&rec, k, buf, sizeof buf);
        sr_user_event ev;
        sr_error err;
        sr_status s = decode_framed(8, buf, n, &ev, &err);
        if (k % 3 == 0) { /* item_id null: the reader's long cannot take it */
            ck_assert_int_eq(s, SR_ERR_INVALID_VALUE);
            ck_assert(strstr(err.message, "item_id"));
            continue;
        }
        if (types[k % 5] < 0) {
            ck_assert_int_eq(s, SR_ERR_BAD_ENUM);
            ck_assert_msg(strstr(err.message, "SHARE") && strstr(err.message, "event_type"), "%s", err.message);
            continue;
        }
        ck_assert_msg(s == SR_OK, "%s", err.message);
        ck_assert_int_eq(ev.user_id, INT32_MAX);
        ck_assert_int_eq(ev.item_id, k % 3 == 1 ? INT64_MIN : -5);
        ck_assert_int_eq(ev.event_type, types[k % 5]);
        ck_assert_int_eq(ev.event_time_ms, -1);
        ck_assert(ev.has_session_id);
        ck_assert_uint_eq(ev.session_id_len, 3);
        ck_assert_int_eq(ev.has_value, k % 5 != 1);
        if (ev.has_value) ck_assert(ev.value == values[k % 5]);
    }
    avro_value_decref(&rec);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
}
END_TEST

#define V1_LONGS "{\"name\":\"user_id\",\"type\":\"long\"},{\"name\":\"item_id\",\"type\":\"long\"}," \
                 "{\"name\":\"event_time\",\"type\":\"long\"}"
#define RECORD(fields) "{\"type\":\"record\",\"name\":\"UserEvent\",\"fields\":[" fields "]}"

START_TEST(missing_fields_take_defaults_or_fail) {
    register_ok(9, RECORD(V1_LONGS ",{\"name\":\"event_type\",\"type\":" ENUM_V1 "}"));
    const uint8_t body[] = {0x02, 0x04, 0x06, 0x06};
    sr_user_event ev;
    sr_error err;
    ck_assert_int_eq(decode_framed(9, body, sizeof body, &ev, &err), SR_OK);
    ck_assert(!ev.has_session_id && !ev.has_value);
    ck_assert_int_eq(ev.event_type, SR_EVENT_PURCHASE);
    ck_assert_int_eq(ev.event_time_ms, 3);
    register_fails(RECORD(V1_LONGS), "event_type");
    register_fails(RECORD("{\"name\":\"item_id\",\"type\":\"long\"},{\"name\":\"event_time\",\"type\":\"long\"},"
                          "{\"name\":\"event_type\",\"type\":" ENUM_V1 "}"),
                   "user_id");
}
END_TEST

START_TEST(incompatible_schemas_are_rejected) {
    const char *enum_field = ",{\"name\":\"event_type\",\"type\":" ENUM_V1 "}";
    char json[1024];
    snprintf(json, sizeof json, RECORD("{\"name\":\"user_id\",\"type\":\"string\"},"
                                       "{\"name\":\"item_id\",\"type\":\"long\"},{\"name\":\"event_time\",\"type\":\"long\"}%s"),
             enum_field);
    register_fails(json, "user_id");
    snprintf(json, sizeof json, RECORD(V1_LONGS ",{\"name\":\"value\",\"type\":\"string\"}%s"), enum_field);
    register_fails(json, "value");
    snprintf(json, sizeof json, RECORD(V1_LONGS ",{\"name\":\"value\",\"type\":[\"string\",\"boolean\"]}%s"),
             enum_field);
    register_fails(json, "value");
    register_fails(RECORD(V1_LONGS ",{\"name\":\"event_type\",\"type\":{\"type\":\"enum\",\"name\":\"Other\","
                                   "\"symbols\":[\"VIEW\"]}}"),
                   "event_type");
    register_fails(RECORD(V1_LONGS ",{\"name\":\"event_type\",\"type\":\"string\"}"), "event_type");
    register_fails("{\"type\":\"record\",\"name\":\"Other\",\"fields\":[]}", "UserEvent");
    register_fails("\"long\"", "UserEvent");
    register_fails("{\"type\": \"record\", \"name\":", "parse");
    /* A failed registration leaves the id unregistered. */
    sr_user_event ev;
    sr_error err;
    ck_assert_int_eq(decode_framed(50, (const uint8_t *)"", 0, &ev, &err), SR_ERR_UNKNOWN_SCHEMA);
}
END_TEST

START_TEST(union_branch_the_reader_cannot_take) {
    /* Resolvable: the null branch fits; a string value fails only when it occurs. */
    register_ok(10, RECORD(V1_LONGS ",{\"name\":\"event_type\",\"type\":" ENUM_V1 "},"
                           "{\"name\":\"value\",\"type\":[\"null\",\"string\"]}"));
    sr_user_event ev;
    sr_error err;
    ck_assert_int_eq(decode_framed(10, (const uint8_t *)"\x02\x04\x06\x02\x00", 5, &ev, &err), SR_OK);
    ck_assert(!ev.has_value);
    ck_assert_int_eq(decode_framed(10, (const uint8_t *)"\x02\x04\x06\x02\x02\x00", 6, &ev, &err),
                     SR_ERR_INVALID_VALUE);
    ck_assert_msg(strstr(err.message, "value") && strstr(err.message, "byte 9"), "%s", err.message);
}
END_TEST

START_TEST(reregistering_replaces_but_plain_stays_builtin) {
    register_ok(1, RECORD("{\"name\":\"event_time\",\"type\":\"long\"},{\"name\":\"item_id\",\"type\":\"long\"},"
                          "{\"name\":\"user_id\",\"type\":\"long\"},{\"name\":\"event_type\",\"type\":" ENUM_V1 "}"));
    const uint8_t body[] = {0x02, 0x04, 0x06, 0x04, 0x00, 0x00};
    sr_user_event ev;
    sr_error err;
    ck_assert_int_eq(decode_framed(1, body, 4, &ev, &err), SR_OK);
    ck_assert_int_eq(ev.event_time_ms, 1);
    ck_assert_int_eq(ev.user_id, 3);
    ck_assert_int_eq(ev.event_type, SR_EVENT_ADD_TO_CART);
    ck_assert_int_eq(sr_codec_decode_event(codec, SR_WIRE_PLAIN, body, sizeof body, &ev, &err), SR_OK);
    ck_assert_int_eq(ev.user_id, 1);
    ck_assert_int_eq(ev.event_type, SR_EVENT_PURCHASE);
    ck_assert_int_eq(ev.event_time_ms, 2);
}
END_TEST

/* A schema with the v1 required fields and one extra field "junk" of type `junk`. */
static void register_junk(int32_t id, const char *junk) {
    char json[2048];
    snprintf(json, sizeof json,
             RECORD(V1_LONGS ",{\"name\":\"event_type\",\"type\":" ENUM_V1 "},{\"name\":\"junk\",\"type\":%s}"), junk);
    register_ok(id, json);
}

static sr_status decode_junk(int32_t id, const uint8_t *junk, size_t len, sr_error *err) {
    uint8_t body[4096] = {0x02, 0x04, 0x06, 0x02};
    memcpy(body + 4, junk, len);
    sr_user_event ev;
    return decode_framed(id, body, 4 + len, &ev, err);
}

START_TEST(skipper_checks_what_it_skips) {
    sr_error err;
    register_junk(20, "[\"null\",\"long\"]");
    ck_assert_int_eq(decode_junk(20, (const uint8_t *)"\x02\x7f", 2, &err), SR_OK);
    ck_assert_int_eq(decode_junk(20, (const uint8_t *)"\x0a", 1, &err), SR_ERR_BAD_UNION);
    ck_assert_msg(strstr(err.message, "junk") && strstr(err.message, "byte 9"), "%s", err.message);
    register_junk(21, "{\"type\":\"array\",\"items\":\"long\"}");
    ck_assert_int_eq(decode_junk(21, (const uint8_t *)"\x04\x02\x04\x00", 4, &err), SR_OK);
    ck_assert_int_eq(decode_junk(21, (const uint8_t *)"\xd0\x0f\x02\x04\x00", 5, &err), SR_ERR_TRUNCATED);
    /* Count -2 with a byte size of 2: skipped by size. */
    ck_assert_int_eq(decode_junk(21, (const uint8_t *)"\x03\x04\x02\x04\x00", 5, &err), SR_OK);
    ck_assert_int_eq(decode_junk(21, (const uint8_t *)"\x03\x03\x02\x04\x00", 5, &err), SR_ERR_BAD_LENGTH);
    ck_assert_int_eq(decode_junk(21, (const uint8_t *)"\x03\x0a\x02\x04\x00", 5, &err), SR_ERR_TRUNCATED);
    const uint8_t int64_min[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00};
    ck_assert_int_eq(decode_junk(21, int64_min, sizeof int64_min, &err), SR_ERR_BAD_LENGTH);
    register_junk(22, "{\"type\":\"array\",\"items\":\"null\"}");
    /* A billion nulls take no bytes and no time. */
    ck_assert_int_eq(decode_junk(22, (const uint8_t *)"\x80\xa8\xd6\xb9\x07\x00", 6, &err), SR_OK);
    register_junk(23, "{\"type\":\"enum\",\"name\":\"Kind\",\"symbols\":[\"A\",\"B\"]}");
    ck_assert_int_eq(decode_junk(23, (const uint8_t *)"\x02", 1, &err), SR_OK);
    ck_assert_int_eq(decode_junk(23, (const uint8_t *)"\x04", 1, &err), SR_ERR_BAD_ENUM);
    register_junk(24, "{\"type\":\"map\",\"values\":\"string\"}");
    ck_assert_int_eq(decode_junk(24, (const uint8_t *)"\x02\x02k\x02v\x00", 6, &err), SR_OK);
    ck_assert_int_eq(decode_junk(24, (const uint8_t *)"\x02\x02k\x01", 4, &err), SR_ERR_BAD_LENGTH);
    register_junk(25, "{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}");
    ck_assert_int_eq(decode_junk(25, (const uint8_t *)"abc", 3, &err), SR_OK);
    ck_assert_int_eq(decode_junk(25, (const uint8_t *)"ab", 2, &err), SR_ERR_TRUNCATED);
}
END_TEST

START_TEST(recursive_schema_is_bounded) {
    register_junk(30, "{\"type\":\"record\",\"name\":\"Node\",\"fields\":[{\"name\":\"v\",\"type\":\"int\"},"
                      "{\"name\":\"next\",\"type\":[\"null\",\"Node\"]}]}");
    uint8_t chain[400];
    sr_error err;
    for (int depth = 1; depth <= 100; depth += 99) {
        size_t n = 0;
        for (int i = 0; i < depth; i++) chain[n++] = 0x02, chain[n++] = 0x02; /* v=1, branch Node */
        chain[n - 1] = 0x00; /* the last node's next is null */
        sr_status s = decode_junk(30, chain, n, &err);
        ck_assert_int_eq(s, depth == 1 ? SR_OK : SR_ERR_LIMIT);
    }
    uint8_t ok_chain[40];
    for (int i = 0; i < 20; i++) ok_chain[i] = (uint8_t)(i % 2 ? 0x02 : 0x04);
    ok_chain[19] = 0x00;
    ck_assert_int_eq(decode_junk(30, ok_chain, 20, &err), SR_OK);
}
END_TEST

/* Writes text to dir/name. */
static void write_file(const char *dir, const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void assert_map_fails(const char *dir, const char *map, sr_status want, const char *mention) {
    char path[512];
    snprintf(path, sizeof path, "%s/map.txt", dir);
    write_file(dir, "map.txt", map);
    sr_error err;
    ck_assert_int_eq(sr_codec_load_schema_map(codec, path, &err), want);
    ck_assert_msg(strstr(err.message, mention), "'%s' lacks '%s'", err.message, mention);
}

START_TEST(schema_map_loads_and_reports) {
    char dir[] = "/tmp/test_codec_mapXXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    write_file(dir, "v2.avsc", schema_v2);
    write_file(dir, "bad.avsc", RECORD(V1_LONGS));
    write_file(dir, "map.txt", "# writer schemas\n\n  12 v2.avsc\n13\tv2.avsc  \r\n");
    char path[512];
    snprintf(path, sizeof path, "%s/map.txt", dir);
    sr_error err;
    ck_assert_msg(sr_codec_load_schema_map(codec, path, &err) == SR_OK, "%s", err.message);
    sr_user_event ev;
    ck_assert_int_eq(decode_framed(12, (const uint8_t *)"", 0, &ev, &err), SR_ERR_TRUNCATED);
    ck_assert_int_eq(decode_framed(13, (const uint8_t *)"", 0, &ev, &err), SR_ERR_TRUNCATED);
    ck_assert_int_eq(decode_framed(14, (const uint8_t *)"", 0, &ev, &err), SR_ERR_UNKNOWN_SCHEMA);
    assert_map_fails(dir, "12 v2.avsc\n14\n", SR_ERR_PARSE, "map.txt:2");
    assert_map_fails(dir, "x v2.avsc\n", SR_ERR_PARSE, "map.txt:1");
    assert_map_fails(dir, "-3 v2.avsc\n", SR_ERR_PARSE, "map.txt:1");
    assert_map_fails(dir, "3 v2.avsc extra\n", SR_ERR_PARSE, "map.txt:1");
    assert_map_fails(dir, "\n15 missing.avsc\n", SR_ERR_IO, "map.txt:2");
    assert_map_fails(dir, "16 bad.avsc\n", SR_ERR_SCHEMA, "event_type");
    ck_assert_int_eq(sr_codec_load_schema_map(codec, "/nonexistent/map.txt", &err), SR_ERR_IO);
    const char *names[] = {"v2.avsc", "bad.avsc", "map.txt"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("codec_evolution");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, v2_written_by_avro_c_decodes);
    tcase_add_test(tc, promotions_unions_and_enum_by_name);
    tcase_add_test(tc, missing_fields_take_defaults_or_fail);
    tcase_add_test(tc, incompatible_schemas_are_rejected);
    tcase_add_test(tc, union_branch_the_reader_cannot_take);
    tcase_add_test(tc, reregistering_replaces_but_plain_stays_builtin);
    tcase_add_test(tc, skipper_checks_what_it_skips);
    tcase_add_test(tc, recursive_schema_is_bounded);
    tcase_add_test(tc, schema_map_loads_and_reports);
    suite_add_tcase(s, tc);
    return s;
}
