/* test_codec_avro.c — our codec against avro-c, the reference: records avro-c's
 * generic writer produces with the schemas folder decode to the same values, and
 * what our encoders write, avro-c's reader reads back the same. */
#include <stdlib.h>

#include "sr_schemas.h"
#include "test_codec_util.h"
#include "test_suite.h"

START_TEST(avro_c_written_events_decode_equal) {
    avro_schema_t schema = test_parse_schema(sr_schema_user_event);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t rec;
    ck_assert_int_eq(avro_generic_value_new(iface, &rec), 0);
    sr_codec *codec;
    sr_error err;
    ck_assert_int_eq(sr_codec_new(&codec, &err), SR_OK);
    uint64_t rng = 99;
    char session[SR_SESSION_ID_MAX + 1];
    uint8_t buf[1024];
    for (int i = 0; i < 5000; i++) {
        sr_user_event e = test_random_event(&rng, session), back;
        avro_value_reset(&rec);
        test_avro_set_event(&rec, &e);
        size_t n = test_avro_write(&rec, buf + 5, sizeof buf - 5);
        ck_assert_msg(sr_codec_decode_event(codec, SR_WIRE_PLAIN, buf + 5, n, &back, &err) == SR_OK, "%s",
                      err.message);
        test_assert_events_equal(&e, &back);
        test_put_header(buf, SR_CODEC_BUILTIN_SCHEMA_ID);
        ck_assert_int_eq(sr_codec_decode_event(codec, SR_WIRE_REGISTRY, buf, n + 5, &back, &err), SR_OK);
        test_assert_events_equal(&e, &back);
    }
    sr_codec_free(codec);
    avro_value_decref(&rec);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
}
END_TEST

START_TEST(our_events_read_equal_in_avro_c) {
    avro_schema_t schema = test_parse_schema(sr_schema_user_event);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t rec;
    ck_assert_int_eq(avro_generic_value_new(iface, &rec), 0);
    uint64_t rng = 1234;
    char session[SR_SESSION_ID_MAX + 1], session_back[SR_SESSION_ID_MAX + 1];
    sr_buffer buf = {0};
    sr_error err;
    for (int i = 0; i < 5000; i++) {
        sr_user_event e = test_random_event(&rng, session), back;
        if (i == 0) e.user_id = INT64_MIN, e.item_id = INT64_MAX;
        sr_buffer_reset(&buf);
        ck_assert_int_eq(sr_encode_event(&e, SR_WIRE_PLAIN, &buf, &err), SR_OK);
        test_avro_read_event(&rec, buf.data, buf.len, &back, session_back);
        test_assert_events_equal(&e, &back);
        /* avro-c writes the very same bytes. */
        uint8_t ref[1024];
        ck_assert_uint_eq(test_avro_write(&rec, ref, sizeof ref), buf.len);
        ck_assert(memcmp(ref, buf.data, buf.len) == 0);
    }
    sr_buffer_free(&buf);
    avro_value_decref(&rec);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
}
END_TEST

/* Fills an avro-c Recommendation from rec. */
static void set_recommendation(avro_value_t *v, const sr_recommendation *rec) {
    avro_value_t field, item, child;
    avro_value_get_by_name(v, "user_id", &field, NULL);
    avro_value_set_long(&field, rec->user_id);
    avro_value_get_by_name(v, "model_version", &field, NULL);
    avro_value_set_long(&field, rec->model_version);
    avro_value_get_by_name(v, "generated_at", &field, NULL);
    avro_value_set_long(&field, rec->generated_at_ms);
    avro_value_get_by_name(v, "last_event_time", &field, NULL);
    avro_value_set_long(&field, rec->last_event_time_ms);
    avro_value_get_by_name(v, "source_partition", &field, NULL);
    avro_value_set_int(&field, rec->source_partition);
    avro_value_get_by_name(v, "source_offset", &field, NULL);
    avro_value_set_long(&field, rec->source_offset);
    avro_value_get_by_name(v, "items", &field, NULL);
    for (size_t i = 0; i < rec->item_count; i++) {
        ck_assert_int_eq(avro_value_append(&field, &item, NULL), 0);
        avro_value_get_by_name(&item, "item_id", &child, NULL);
        avro_value_set_long(&child, rec->items[i].item_id);
        avro_value_get_by_name(&item, "score", &child, NULL);
        avro_value_set_float(&child, rec->items[i].score);
    }
}

static sr_recommendation random_recommendation(uint64_t *rng, sr_recommended_item *items, size_t cap) {
    sr_recommendation rec = {.user_id = test_rand_long(rng), .model_version = test_rand_long(rng),
                             .generated_at_ms = test_rand_long(rng), .last_event_time_ms = test_rand_long(rng),
                             .source_partition = (int32_t)test_rand(rng), .source_offset = test_rand_long(rng),
                             .items = items, .item_count = test_rand(rng) % (cap + 1)};
    for (size_t i = 0; i < rec.item_count; i++)
        items[i] = (sr_recommended_item){test_rand_long(rng), (float)test_rand_long(rng) / 3.0f};
    return rec;
}

static void assert_recommendations_equal(const sr_recommendation *a, const sr_recommendation *b) {
    ck_assert_int_eq(a->user_id, b->user_id);
    ck_assert_int_eq(a->model_version, b->model_version);
    ck_assert_int_eq(a->generated_at_ms, b->generated_at_ms);
    ck_assert_int_eq(a->last_event_time_ms, b->last_event_time_ms);
    ck_assert_int_eq(a->source_partition, b->source_partition);
    ck_assert_int_eq(a->source_offset, b->source_offset);
    ck_assert_uint_eq(a->item_count, b->item_count);
    for (size_t i = 0; i < a->item_count; i++) {
        ck_assert_int_eq(a->items[i].item_id, b->items[i].item_id);
        ck_assert(memcmp(&a->items[i].score, &b->items[i].score, sizeof(float)) == 0);
    }
}

START_TEST(recommendations_match_avro_c_both_ways) {
    avro_schema_t schema = test_parse_schema(sr_schema_recommendation);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t v;
    ck_assert_int_eq(avro_generic_value_new(iface, &v), 0);
    uint64_t rng = 5;
    sr_recommended_item items[20], got[20];
    sr_buffer ours = {0};
    sr_error err;
    for (int i = 0; i < 500; i++) {
        sr_recommendation rec = random_recommendation(&rng, items, 20), back;
        avro_value_reset(&v);
        set_recommendation(&v, &rec);
        uint8_t ref[2048];
        size_t n = test_avro_write(&v, ref, sizeof ref);
        ck_assert_int_eq(sr_decode_recommendation(ref, n, &back, got, 20, &err), SR_OK);
        assert_recommendations_equal(&rec, &back);
        sr_buffer_reset(&ours);
        ck_assert_int_eq(sr_encode_recommendation(&rec, &ours, &err), SR_OK);
        /* avro-c reads ours back into a value equal to the one it wrote. */
        test_avro_reads_equal(iface, &v, ours.data, ours.len);
    }
    sr_buffer_free(&ours);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
}
END_TEST

/* The built-in reader mirrors schemas/user_event.avsc field for field. */
START_TEST(reader_matches_the_avsc) {
    avro_schema_t schema = test_parse_schema(sr_schema_user_event);
    static const char *const names[] = {"user_id", "item_id", "event_type", "event_time", "session_id", "value"};
    ck_assert_uint_eq(avro_schema_record_size(schema), 6);
    for (int i = 0; i < 6; i++) ck_assert_str_eq(avro_schema_record_field_name(schema, i), names[i]);
    avro_schema_t type = avro_schema_record_field_get(schema, "event_type");
    ck_assert_int_eq(avro_schema_enum_number_of_symbols(type), SR_EVENT_TYPE_COUNT);
    for (int i = 0; i < SR_EVENT_TYPE_COUNT; i++)
        ck_assert_int_eq(sr_event_type_parse(avro_schema_enum_get(type, i)), i);
    avro_schema_decref(schema);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("codec_avro");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, avro_c_written_events_decode_equal);
    tcase_add_test(tc, our_events_read_equal_in_avro_c);
    tcase_add_test(tc, recommendations_match_avro_c_both_ways);
    tcase_add_test(tc, reader_matches_the_avsc);
    suite_add_tcase(s, tc);
    return s;
}
