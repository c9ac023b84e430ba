/* test_schemas.c — the Avro contracts in schemas/ are valid, compiled into the
 * binary unchanged, and their records have the fields the code relies on. */
#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_schemas.h"
#include "test_suite.h"

static const struct {
    const char *file;
    const char *embedded;
    const char *name;
} schemas[] = {
    {"user_event.avsc", sr_schema_user_event, "UserEvent"},
    {"recommendation.avsc", sr_schema_recommendation, "Recommendation"},
    {"model_chunk.avsc", sr_schema_model_chunk, "ModelChunk"},
    {"model_manifest.avsc", sr_schema_model_manifest, "ModelManifest"},
    {"user_state.avsc", sr_schema_user_state, "UserState"},
};

static char *read_schema_file(const char *file) {
    char path[1024];
    snprintf(path, sizeof path, "%s/schemas/%s", STREAMREC_SOURCE_DIR, file);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *text = calloc(1, (size_t)size + 1);
    ck_assert_int_eq(fread(text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    return text;
}

START_TEST(schema_is_valid_and_embedded) {
    char *text = read_schema_file(schemas[_i].file);
    ck_assert_str_eq(text, schemas[_i].embedded);
    avro_schema_t schema;
    ck_assert_msg(avro_schema_from_json_length(text, strlen(text), &schema) == 0, "%s: %s",
                  schemas[_i].file, avro_strerror());
    ck_assert(is_avro_record(schema));
    ck_assert_str_eq(avro_schema_name(schema), schemas[_i].name);
    avro_schema_decref(schema);
    free(text);
}
END_TEST

static avro_schema_t parse(const char *json) {
    avro_schema_t schema;
    ck_assert_int_eq(avro_schema_from_json_length(json, strlen(json), &schema), 0);
    return schema;
}

START_TEST(user_event_fields_in_contract_order) {
    static const char *const fields[] = {"user_id", "item_id", "event_type", "event_time",
                                         "session_id", "value"};
    avro_schema_t schema = parse(sr_schema_user_event);
    ck_assert_int_eq(avro_schema_record_size(schema), 6);
    for (int i = 0; i < 6; i++)
        ck_assert_str_eq(avro_schema_record_field_name(schema, i), fields[i]);
    avro_schema_t type = avro_schema_record_field_get(schema, "event_type");
    ck_assert(is_avro_enum(type));
    ck_assert_str_eq(avro_schema_enum_get(type, 0), "VIEW");
    ck_assert_str_eq(avro_schema_enum_get(type, 3), "PURCHASE");
    avro_schema_decref(schema);
}
END_TEST

START_TEST(recommendation_items_are_ranked_records) {
    avro_schema_t schema = parse(sr_schema_recommendation);
    avro_schema_t items = avro_schema_record_field_get(schema, "items");
    ck_assert(is_avro_array(items));
    avro_schema_t item = avro_schema_array_items(items);
    ck_assert(is_avro_record(item));
    ck_assert(is_avro_int64(avro_schema_record_field_get(item, "item_id")));
    ck_assert(is_avro_float(avro_schema_record_field_get(item, "score")));
    ck_assert(is_avro_int32(avro_schema_record_field_get(schema, "source_partition")));
    ck_assert(is_avro_int64(avro_schema_record_field_get(schema, "source_offset")));
    avro_schema_decref(schema);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("schemas");
    TCase *tc = tcase_create("contracts");
    tcase_add_loop_test(tc, schema_is_valid_and_embedded, 0, (int)(sizeof schemas / sizeof schemas[0]));
    tcase_add_test(tc, user_event_fields_in_contract_order);
    tcase_add_test(tc, recommendation_items_are_ranked_records);
    suite_add_tcase(s, tc);
    return s;
}
