/* test_model_publish.c — model files on the model topic: the records, the
 * assembler fed by hand (every interleaving), and publisher + subscriber on
 * the embedded broker (librdkafka's mock cluster). */
#include <avro.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "modelio/checksum.h"
#include "modelio/model_assembler.h"
#include "modelio/model_records.h"
#include "sr_embedded_broker.h"
#include "sr_model_publish.h"
#include "sr_schemas.h"
#include "sr_topics.h"
#include "test_suite.h"

#define CHUNK 1024

/* A model file of `items` items (about 70 bytes each) with the given version. */
static sr_buffer model_file(int64_t version, uint32_t items, uint64_t seed) {
    sr_model_config config = {.item_count = items, .embed_dim = 8, .hidden_dim = 8, .window = 2,
                              .cell = SR_CELL_GRU, .attention = SR_ATTENTION_ITEMS};
    sr_model *m;
    sr_error err;
    ck_assert_int_eq(sr_model_new(&config, &m, &err), SR_OK);
    sr_model_init_random(m, seed);
    int64_t *ids = malloc(items * sizeof *ids);
    for (uint32_t i = 0; i < items; i++) ids[i] = 1000 + 3 * (int64_t)i;
    ck_assert_int_eq(sr_vocab_build(&m->vocab, ids, items, &err), SR_OK);
    free(ids);
    m->version = version;
    sr_model_meta meta = {.created_at_ms = 1767225600000LL + version};
    snprintf(meta.note, sizeof meta.note, "test-trainer v%lld", (long long)version);
    ck_assert_int_eq(sr_model_meta_add_metric(&meta, "hr@10", 0.25 + 0.01 * (double)version, &err), SR_OK);
    sr_buffer file = {0};
    ck_assert_int_eq(sr_model_file_encode(m, &meta, &file, &err), SR_OK);
    sr_model_free(m);
    return file;
}

/* ---- Records by hand ---- */

typedef struct record {
    char key[MODEL_CHUNK_KEY_MAX];
    sr_buffer value;
} record;

/* The records a publisher writes for file (chunks then manifest), with chunk
 * `corrupt` (-1: none) given a flipped data byte and a matching CRC. */
static int make_records(const sr_buffer *file, size_t chunk_size, int corrupt, record *out, int cap) {
    sr_model_file_info info;
    sr_error err;
    ck_assert_int_eq(sr_model_file_inspect(file->data, file->len, &info, &err), SR_OK);
    uint8_t sha[32];
    ck_assert_int_eq(modelio_sha256(file->data, file->len, sha, &err), SR_OK);
    int count = (int)((file->len + chunk_size - 1) / chunk_size);
    ck_assert_int_le(count + 1, cap);
    uint8_t *copy = malloc(file->len);
    memcpy(copy, file->data, file->len);
    for (int i = 0; i < count; i++) {
        size_t at = (size_t)i * chunk_size, n = file->len - at < chunk_size ? file->len - at : chunk_size;
        if (i == corrupt) copy[at] ^= 1;
        model_chunk_record c = {.model_version = info.model_version, .chunk_index = i, .chunk_count = count,
                                .offset = (int64_t)at, .crc32c = modelio_crc32c(0, copy + at, n),
                                .data = copy + at, .data_len = n};
        memcpy(c.file_sha256, sha, 32);
        model_chunk_key(i, out[i].key);
        out[i].value = (sr_buffer){0};
        ck_assert_int_eq(model_chunk_encode(&c, &out[i].value, &err), SR_OK);
    }
    free(copy);
    sr_model_manifest m = {.model_version = info.model_version, .created_at_ms = info.meta.created_at_ms,
                           .chunk_count = count, .total_bytes = (int64_t)file->len};
    memcpy(m.sha256, sha, 32);
    memcpy(m.trainer, info.meta.note, sizeof m.trainer);
    snprintf(out[count].key, sizeof out[count].key, MODEL_MANIFEST_KEY);
    out[count].value = (sr_buffer){0};
    ck_assert_int_eq(model_manifest_encode(&m, &out[count].value, &err), SR_OK);
    return count + 1;
}

static void free_records(record *r, int n) {
    for (int i = 0; i < n; i++) sr_buffer_free(&r[i].value);
}

static model_offer_result offer(model_assembler *a, const record *r, sr_error *why) {
    model_offer_result result;
    sr_error err;
    ck_assert_int_eq(model_assembler_offer(a, r->key, strlen(r->key), r->value.data, r->value.len, &result, why,
                                           &err), SR_OK);
    return result;
}

static void expect_latest(const sr_model_release *r, const sr_buffer *file, int64_t version) {
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->manifest.model_version, version);
    ck_assert_uint_eq(r->len, file->len);
    ck_assert_int_eq(memcmp(r->bytes, file->data, file->len), 0);
}

START_TEST(records_round_trip_and_reject_damage) {
    sr_buffer file = model_file(3, 20, 1);
    record r[64];
    int n = make_records(&file, 700, -1, r, 64);
    model_chunk_record c;
    sr_error err;
    ck_assert_int_eq(model_chunk_decode(r[1].value.data, r[1].value.len, &c, &err), SR_OK);
    ck_assert_int_eq(c.model_version, 3);
    ck_assert_int_eq(c.chunk_index, 1);
    ck_assert_int_eq(c.chunk_count, n - 1);
    ck_assert_int_eq(c.offset, 700);
    ck_assert_uint_eq(c.data_len, 700);
    ck_assert_int_eq(memcmp(c.data, file.data + 700, 700), 0);
    for (size_t k = 0; k < r[1].value.len; k++)
        ck_assert_int_ne(model_chunk_decode(r[1].value.data, k, &c, &err), SR_OK);

    sr_model_manifest m;
    const sr_buffer *mv = &r[n - 1].value;
    ck_assert_int_eq(model_manifest_decode(mv->data, mv->len, &m, &err), SR_OK);
    ck_assert_int_eq(m.model_version, 3);
    ck_assert_int_eq(m.total_bytes, (int64_t)file.len);
    ck_assert_str_eq(m.trainer, "test-trainer v3");
    for (size_t k = 0; k < mv->len; k++) ck_assert_int_ne(model_manifest_decode(mv->data, k, &m, &err), SR_OK);

    /* Metrics survive, in a map. */
    sr_model_manifest full = m, back;
    full.metric_count = 2;
    snprintf(full.metrics[0].name, sizeof full.metrics[0].name, "hr@10");
    full.metrics[0].value = 0.5;
    snprintf(full.metrics[1].name, sizeof full.metrics[1].name, "ndcg@10");
    full.metrics[1].value = 0.25;
    sr_buffer enc = {0};
    ck_assert_int_eq(model_manifest_encode(&full, &enc, &err), SR_OK);
    ck_assert_int_eq(model_manifest_decode(enc.data, enc.len, &back, &err), SR_OK);
    ck_assert_uint_eq(back.metric_count, 2);
    ck_assert_str_eq(back.metrics[1].name, "ndcg@10");
    ck_assert(back.metrics[1].value == 0.25);
    ck_assert_int_eq(sr_buffer_append(&enc, "x", 1, &err), SR_OK);
    ck_assert_int_eq(model_manifest_decode(enc.data, enc.len, &back, &err), SR_ERR_TRAILING_BYTES);
    sr_buffer_free(&enc);
    free_records(r, n);
    sr_buffer_free(&file);
}
END_TEST

/* avro-c, reading our bytes with the schemas in schemas/, sees every field. */
static avro_value_t read_with_avro_c(const char *schema_json, const sr_buffer *buf, avro_value_iface_t **iface,
                              avro_schema_t *schema) {
    ck_assert_int_eq(avro_schema_from_json_length(schema_json, strlen(schema_json), schema), 0);
    *iface = avro_generic_class_from_schema(*schema);
    avro_value_t v;
    ck_assert_int_eq(avro_generic_value_new(*iface, &v), 0);
    avro_reader_t reader = avro_reader_memory((const char *)buf->data, (int64_t)buf->len);
    ck_assert_msg(avro_value_read(reader, &v) == 0, "%s", avro_strerror());
    avro_reader_free(reader);
    return v;
}

static int64_t avro_c_long(avro_value_t *v, const char *name) {
    avro_value_t field;
    ck_assert_int_eq(avro_value_get_by_name(v, name, &field, NULL), 0);
    int64_t out;
    if (avro_value_get_type(&field) == AVRO_INT32) {
        int32_t i;
        ck_assert_int_eq(avro_value_get_int(&field, &i), 0);
        return i;
    }
    ck_assert_int_eq(avro_value_get_long(&field, &out), 0);
    return out;
}

START_TEST(avro_c_reads_our_records) {
    sr_buffer file = model_file(6, 10, 1);
    record r[64];
    int n = make_records(&file, 500, -1, r, 64);
    avro_value_iface_t *iface;
    avro_schema_t schema;
    avro_value_t v = read_with_avro_c(sr_schema_model_chunk, &r[1].value, &iface, &schema);
    ck_assert_int_eq(avro_c_long(&v, "model_version"), 6);
    ck_assert_int_eq(avro_c_long(&v, "chunk_index"), 1);
    ck_assert_int_eq(avro_c_long(&v, "chunk_count"), n - 1);
    ck_assert_int_eq(avro_c_long(&v, "offset"), 500);
    ck_assert_int_eq(avro_c_long(&v, "crc32c"), (int64_t)modelio_crc32c(0, file.data + 500, 500));
    avro_value_t field;
    const void *bytes;
    size_t size;
    ck_assert_int_eq(avro_value_get_by_name(&v, "data", &field, NULL), 0);
    ck_assert_int_eq(avro_value_get_bytes(&field, &bytes, &size), 0);
    ck_assert_uint_eq(size, 500);
    ck_assert_int_eq(memcmp(bytes, file.data + 500, 500), 0);
    ck_assert_int_eq(avro_value_get_by_name(&v, "file_sha256", &field, NULL), 0);
    ck_assert_int_eq(avro_value_get_fixed(&field, &bytes, &size), 0);
    ck_assert_uint_eq(size, 32);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);

    sr_model_manifest m;
    sr_error err;
    ck_assert_int_eq(model_manifest_decode(r[n - 1].value.data, r[n - 1].value.len, &m, &err), SR_OK);
    m.metric_count = 2;
    snprintf(m.metrics[0].name, sizeof m.metrics[0].name, "hr@10");
    m.metrics[0].value = 0.5;
    snprintf(m.metrics[1].name, sizeof m.metrics[1].name, "mrr@20");
    m.metrics[1].value = 0.125;
    sr_buffer enc = {0};
    ck_assert_int_eq(model_manifest_encode(&m, &enc, &err), SR_OK);
    v = read_with_avro_c(sr_schema_model_manifest, &enc, &iface, &schema);
    ck_assert_int_eq(avro_c_long(&v, "model_version"), 6);
    ck_assert_int_eq(avro_c_long(&v, "total_bytes"), (int64_t)file.len);
    ck_assert_int_eq(avro_c_long(&v, "created_at"), m.created_at_ms);
    ck_assert_int_eq(avro_value_get_by_name(&v, "trainer", &field, NULL), 0);
    ck_assert_int_eq(avro_value_get_string(&field, (const char **)&bytes, &size), 0);
    ck_assert_str_eq(bytes, "test-trainer v6");
    ck_assert_int_eq(avro_value_get_by_name(&v, "metrics", &field, NULL), 0);
    ck_assert_int_eq(avro_value_get_size(&field, &size), 0);
    ck_assert_uint_eq(size, 2);
    avro_value_t value;
    ck_assert_int_eq(avro_value_get_by_name(&field, "mrr@20", &value, NULL), 0);
    double d;
    ck_assert_int_eq(avro_value_get_double(&value, &d), 0);
    ck_assert(d == 0.125);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
    sr_buffer_free(&enc);
    free_records(r, n);
    sr_buffer_free(&file);
}
END_TEST

START_TEST(keys_are_canonical) {
    int32_t i = -1;
    ck_assert_int_eq(model_key_parse("chunk-0", 7, &i), MODEL_KEY_CHUNK);
    ck_assert_int_eq(i, 0);
    ck_assert_int_eq(model_key_parse("chunk-65535", 11, &i), MODEL_KEY_CHUNK);
    ck_assert_int_eq(i, 65535);
    ck_assert_int_eq(model_key_parse("chunk-65536", 11, &i), MODEL_KEY_OTHER);
    ck_assert_int_eq(model_key_parse("chunk-01", 8, &i), MODEL_KEY_OTHER);
    ck_assert_int_eq(model_key_parse("chunk-", 6, &i), MODEL_KEY_OTHER);
    ck_assert_int_eq(model_key_parse("chunk-1x", 8, &i), MODEL_KEY_OTHER);
    ck_assert_int_eq(model_key_parse("manifest", 8, &i), MODEL_KEY_MANIFEST);
    ck_assert_int_eq(model_key_parse(NULL, 0, &i), MODEL_KEY_OTHER);
    char key[MODEL_CHUNK_KEY_MAX];
    ck_assert_uint_eq(model_chunk_key(42, key), 8);
    ck_assert_str_eq(key, "chunk-42");
}
END_TEST

/* ---- The assembler ---- */

START_TEST(assembler_applies_complete_versions_in_order) {
    model_assembler *a;
    sr_error err, why;
    ck_assert_int_eq(model_assembler_new(0, &a, &err), SR_OK);
    ck_assert_ptr_null(model_assembler_latest(a));
    sr_buffer f1 = model_file(1, 30, 1), f2 = model_file(2, 40, 2);
    record r1[64], r2[64];
    int n1 = make_records(&f1, CHUNK, -1, r1, 64), n2 = make_records(&f2, CHUNK, -1, r2, 64);
    for (int i = 0; i < n1 - 1; i++) ck_assert_int_eq(offer(a, &r1[i], &why), MODEL_OFFER_STORED);
    ck_assert_ptr_null(model_assembler_latest(a));  /* no manifest yet */
    ck_assert_int_eq(offer(a, &r1[n1 - 1], &why), MODEL_OFFER_APPLIED);
    expect_latest(model_assembler_latest(a), &f1, 1);
    ck_assert_str_eq(model_assembler_latest(a)->manifest.trainer, "test-trainer v1");
    for (int i = 0; i < n2; i++) offer(a, &r2[i], &why);
    expect_latest(model_assembler_latest(a), &f2, 2);
    /* Replaying version 1's manifest: not newer, rejected, 2 stays. */
    ck_assert_int_eq(offer(a, &r1[n1 - 1], &why), MODEL_OFFER_REJECTED);
    ck_assert_ptr_nonnull(strstr(why.message, "not newer"));
    ck_assert_int_eq(offer(a, &r1[0], &why), MODEL_OFFER_IGNORED);  /* old chunk */
    expect_latest(model_assembler_latest(a), &f2, 2);
    free_records(r1, n1);
    free_records(r2, n2);
    sr_buffer_free(&f1);
    sr_buffer_free(&f2);
    model_assembler_free(a);
}
END_TEST

/* Two publications interleaved record by record (two publishers, or one that
 * crashed and started again) each assemble from their own chunks only. */
START_TEST(assembler_keeps_interleaved_publications_apart) {
    model_assembler *a;
    sr_error err, why;
    ck_assert_int_eq(model_assembler_new(0, &a, &err), SR_OK);
    sr_buffer f2 = model_file(2, 40, 2), f3 = model_file(3, 40, 3);
    record r2[64], r3[64];
    int n2 = make_records(&f2, CHUNK, -1, r2, 64), n3 = make_records(&f3, CHUNK, -1, r3, 64);
    ck_assert_int_eq(n2, n3);  /* same keys chunk-0..n-1 in both */
    for (int i = 0; i < n2 - 1; i++) {
        ck_assert_int_eq(offer(a, &r3[i], &why), MODEL_OFFER_STORED);
        ck_assert_int_eq(offer(a, &r2[i], &why), MODEL_OFFER_STORED);
    }
    ck_assert_int_eq(offer(a, &r2[n2 - 1], &why), MODEL_OFFER_APPLIED);
    expect_latest(model_assembler_latest(a), &f2, 2);
    ck_assert_int_eq(offer(a, &r3[n3 - 1], &why), MODEL_OFFER_APPLIED);
    expect_latest(model_assembler_latest(a), &f3, 3);
    free_records(r2, n2);
    free_records(r3, n3);
    sr_buffer_free(&f2);
    sr_buffer_free(&f3);
    model_assembler_free(a);
}
END_TEST

/* The same version number published twice with different bytes (a crash,
 * then a retrain): chunks never mix across the two files. */
START_TEST(assembler_never_mixes_two_files_of_one_version) {
    model_assembler *a;
    sr_error err, why;
    ck_assert_int_eq(model_assembler_new(0, &a, &err), SR_OK);
    sr_buffer fa = model_file(5, 40, 10), fb = model_file(5, 40, 11);
    record ra[64], rb[64];
    int na = make_records(&fa, CHUNK, -1, ra, 64), nb = make_records(&fb, CHUNK, -1, rb, 64);
    ck_assert_int_eq(na, nb);
    /* A and B interleave, and B's chunk 1 never arrives while A's does. */
    offer(a, &ra[0], &why);
    offer(a, &rb[0], &why);
    offer(a, &ra[1], &why);
    for (int i = 2; i < nb - 1; i++) offer(a, &rb[i], &why);
    ck_assert_int_eq(offer(a, &rb[nb - 1], &why), MODEL_OFFER_REJECTED);
    ck_assert_ptr_nonnull(strstr(why.message, "chunk 1 of"));
    ck_assert_ptr_nonnull(strstr(why.message, "missing"));
    ck_assert_ptr_null(model_assembler_latest(a));
    /* B again, whole: applied. */
    for (int i = 0; i < nb; i++) offer(a, &rb[i], &why);
    expect_latest(model_assembler_latest(a), &fb, 5);
    free_records(ra, na);
    free_records(rb, nb);
    sr_buffer_free(&fa);
    sr_buffer_free(&fb);
    model_assembler_free(a);
}
END_TEST

START_TEST(assembler_rejects_damaged_chunks_and_keeps_serving) {
    model_assembler *a;
    sr_error err, why;
    ck_assert_int_eq(model_assembler_new(0, &a, &err), SR_OK);
    sr_buffer f1 = model_file(1, 30, 1), f2 = model_file(2, 30, 2);
    record r1[64], r2[64];
    int n1 = make_records(&f1, CHUNK, -1, r1, 64);
    for (int i = 0; i < n1; i++) offer(a, &r1[i], &why);
    expect_latest(model_assembler_latest(a), &f1, 1);

    /* A chunk whose data was changed with its CRC: SHA-256 catches it. */
    int n2 = make_records(&f2, CHUNK, 1, r2, 64);
    for (int i = 0; i < n2 - 1; i++) ck_assert_int_eq(offer(a, &r2[i], &why), MODEL_OFFER_STORED);
    ck_assert_int_eq(offer(a, &r2[n2 - 1], &why), MODEL_OFFER_REJECTED);
    ck_assert_ptr_nonnull(strstr(why.message, "SHA-256 mismatch"));
    expect_latest(model_assembler_latest(a), &f1, 1);
    free_records(r2, n2);

    /* A chunk damaged in transit: its CRC catches it, the manifest then misses it. */
    n2 = make_records(&f2, CHUNK, -1, r2, 64);
    r2[2].value.data[r2[2].value.len - 1] ^= 0x40;
    for (int i = 0; i < n2 - 1; i++) ck_assert_int_eq(offer(a, &r2[i], &why), i == 2 ? MODEL_OFFER_REJECTED
                                                                               : MODEL_OFFER_STORED);
    ck_assert_int_eq(offer(a, &r2[2], &why), MODEL_OFFER_REJECTED);
    ck_assert_ptr_nonnull(strstr(why.message, "crc32c mismatch"));
    ck_assert_int_eq(offer(a, &r2[n2 - 1], &why), MODEL_OFFER_REJECTED);
    ck_assert_ptr_nonnull(strstr(why.message, "chunk 2 of"));
    expect_latest(model_assembler_latest(a), &f1, 1);

    /* A chunk under another chunk's key. */
    record moved = r2[0];
    snprintf(moved.key, sizeof moved.key, "chunk-3");
    ck_assert_int_eq(offer(a, &moved, &why), MODEL_OFFER_REJECTED);
    ck_assert_ptr_nonnull(strstr(why.message, "chunk_index 0"));

    /* Garbage and tombstones. */
    record junk = {.key = "manifest"};
    ck_assert_int_eq(sr_buffer_append(&junk.value, "\x01\x02", 2, &err), SR_OK);
    ck_assert_int_eq(offer(a, &junk, &why), MODEL_OFFER_REJECTED);
    sr_buffer_free(&junk.value);
    model_offer_result result;
    ck_assert_int_eq(model_assembler_offer(a, "chunk-0", 7, NULL, 0, &result, &why, &err), SR_OK);
    ck_assert_int_eq(result, MODEL_OFFER_IGNORED);
    ck_assert_int_eq(model_assembler_offer(a, "other", 5, "x", 1, &result, &why, &err), SR_OK);
    ck_assert_int_eq(result, MODEL_OFFER_IGNORED);
    expect_latest(model_assembler_latest(a), &f1, 1);

    free_records(r1, n1);
    free_records(r2, n2);
    sr_buffer_free(&f1);
    sr_buffer_free(&f2);
    model_assembler_free(a);
}
END_TEST

START_TEST(assembler_checks_the_version_inside_the_file) {
    model_assembler *a;
    sr_error err, why;
    ck_assert_int_eq(model_assembler_new(0, &a, &err), SR_OK);
    sr_buffer f = model_file(4, 30, 1);
    record r[64];
    int n = make_records(&f, CHUNK, -1, r, 64);
    /* Re-label every record as version 9: the manifest says 9, the file 4. */
    for (int i = 0; i < n; i++) {
        if (i < n - 1) {
            model_chunk_record c;
            ck_assert_int_eq(model_chunk_decode(r[i].value.data, r[i].value.len, &c, &err), SR_OK);
            c.model_version = 9;
            sr_buffer again = {0};
            ck_assert_int_eq(model_chunk_encode(&c, &again, &err), SR_OK);
            sr_buffer_free(&r[i].value);
            r[i].value = again;
        } else {
            sr_model_manifest m;
            ck_assert_int_eq(model_manifest_decode(r[i].value.data, r[i].value.len, &m, &err), SR_OK);
            m.model_version = 9;
            sr_buffer_reset(&r[i].value);
            ck_assert_int_eq(model_manifest_encode(&m, &r[i].value, &err), SR_OK);
        }
        offer(a, &r[i], &why);
    }
    ck_assert_ptr_null(model_assembler_latest(a));
    ck_assert_ptr_nonnull(strstr(why.message, "inside says version 4"));
    free_records(r, n);
    sr_buffer_free(&f);
    model_assembler_free(a);
}
END_TEST

/* A manifest announcing more than max_file_bytes is refused before anything
 * is allocated for it. */
START_TEST(assembler_limits_sizes) {
    model_assembler *a;
    sr_error err, why;
    ck_assert_int_eq(model_assembler_new(4096, &a, &err), SR_OK);
    sr_buffer f = model_file(1, 100, 1);  /* ~7 KB */
    record r[64];
    int n = make_records(&f, CHUNK, -1, r, 64);
    for (int i = 0; i < n; i++) offer(a, &r[i], &why);
    ck_assert_ptr_null(model_assembler_latest(a));
    ck_assert_ptr_nonnull(strstr(why.message, "out of range"));
    free_records(r, n);
    sr_buffer_free(&f);
    model_assembler_free(a);
}
END_TEST

/* ---- On the embedded broker ---- */

static sr_embedded_broker *broker;

static void start_broker(void) {
    sr_error err;
    ck_assert_int_eq(sr_embedded_broker_start(1, &broker, &err), SR_OK);
}

static void stop_broker(void) {
    sr_embedded_broker_stop(broker);
    broker = NULL;
}

static sr_model_publisher *new_publisher(bool transactions) {
    sr_model_publisher *p;
    sr_error err;
    sr_model_publisher_options o = {.bootstrap = sr_embedded_broker_bootstrap(broker), .chunk_max_bytes = CHUNK,
                                    .no_transactions = !transactions, .timeout_ms = 30000};
    ck_assert_msg(sr_model_publisher_new(&o, &p, &err) == SR_OK, "%s", err.message);
    return p;
}

static sr_model_subscriber *caught_up_subscriber(void) {
    sr_model_subscriber *s;
    sr_error err;
    sr_model_subscriber_options o = {.bootstrap = sr_embedded_broker_bootstrap(broker)};
    ck_assert_msg(sr_model_subscriber_new(&o, &s, &err) == SR_OK, "%s", err.message);
    ck_assert_msg(sr_model_subscriber_catch_up(s, 30000, &err) == SR_OK, "%s", err.message);
    return s;
}

static void publish(sr_model_publisher *p, const sr_buffer *file, sr_model_publication *done) {
    sr_error err;
    ck_assert_msg(sr_model_publish(p, file->data, file->len, done, &err) == SR_OK, "%s", err.message);
}

/* Writes records as they are, with a plain producer (a publisher that crashed,
 * or one with a bug). */
static void produce_raw(const record *r, int n) {
    rd_kafka_conf_t *conf;
    sr_error err;
    ck_assert_int_eq(sr_kafka_conf_new(NULL, sr_embedded_broker_bootstrap(broker), &conf, &err), SR_OK);
    char reason[256];
    rd_kafka_t *producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
    ck_assert_ptr_nonnull(producer);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(SR_TOPIC_MODELS), RD_KAFKA_V_PARTITION(0),
                                           RD_KAFKA_V_KEY((void *)(uintptr_t)r[i].key, strlen(r[i].key)),
                                           RD_KAFKA_V_VALUE(r[i].value.data, r[i].value.len),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
    ck_assert_int_eq(rd_kafka_flush(producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(producer);
}

START_TEST(publish_and_read_back) {
    start_broker();
    sr_model_publisher *p = new_publisher(_i == 0);
    sr_buffer f = model_file(1, 60, 1);
    sr_model_publication done;
    publish(p, &f, &done);
    ck_assert_int_eq(done.model_version, 1);
    ck_assert_int_eq(done.chunk_count, (int32_t)((f.len + CHUNK - 1) / CHUNK));
    ck_assert_int_gt(done.chunk_count, 2);
    ck_assert_uint_eq(done.total_bytes, f.len);
    ck_assert_int_eq(done.tombstones, 0);

    sr_model_subscriber *s = caught_up_subscriber();
    const sr_model_release *r = sr_model_subscriber_latest(s);
    expect_latest(r, &f, 1);
    ck_assert_int_eq(memcmp(r->manifest.sha256, done.sha256, 32), 0);
    ck_assert_int_eq(r->manifest.chunk_count, done.chunk_count);
    ck_assert_str_eq(r->manifest.trainer, "test-trainer v1");
    ck_assert_uint_eq(r->manifest.metric_count, 1);
    ck_assert_int_eq(r->manifest.created_at_ms, 1767225600001LL);
    /* The worker's next step works on what it got. */
    sr_model *model;
    sr_error err;
    ck_assert_int_eq(sr_model_load_buffer(r->bytes, r->len, &model, NULL, &err), SR_OK);
    ck_assert_int_eq(model->version, 1);
    sr_model_free(model);
    sr_model_subscriber_stats stats = sr_model_subscriber_get_stats(s);
    ck_assert_uint_eq(stats.applied, 1);
    ck_assert_uint_eq(stats.rejected, 0);

    sr_model_subscriber_free(s);
    sr_model_publisher_free(p);
    sr_buffer_free(&f);
    stop_broker();
}
END_TEST

START_TEST(two_versions_hot_and_cold) {
    start_broker();
    sr_model_publisher *p = new_publisher(true);
    sr_buffer f1 = model_file(1, 60, 1), f2 = model_file(2, 60, 2);
    sr_model_publication done;
    publish(p, &f1, &done);
    sr_model_subscriber *running = caught_up_subscriber();
    expect_latest(sr_model_subscriber_latest(running), &f1, 1);
    bool updated = false;
    sr_error err;
    ck_assert_int_eq(sr_model_subscriber_poll(running, 0, &updated, &err), SR_OK);
    ck_assert(!updated);

    publish(p, &f2, &done);
    for (int i = 0; i < 100 && !updated; i++)
        ck_assert_int_eq(sr_model_subscriber_poll(running, 100, &updated, &err), SR_OK);
    ck_assert(updated);
    expect_latest(sr_model_subscriber_latest(running), &f2, 2);

    sr_model_subscriber *fresh = caught_up_subscriber();  /* a worker starting later */
    expect_latest(sr_model_subscriber_latest(fresh), &f2, 2);

    /* Publishing an older version again is refused, and writes nothing. */
    ck_assert_int_eq(sr_model_publish(p, f1.data, f1.len, &done, &err), SR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err.message, "not above version 2"));
    ck_assert_int_eq(sr_model_publish(p, f1.data, f1.len - 1, &done, &err), SR_ERR_TRUNCATED);

    sr_model_subscriber_free(fresh);
    sr_model_subscriber_free(running);
    sr_model_publisher_free(p);
    sr_buffer_free(&f1);
    sr_buffer_free(&f2);
    stop_broker();
}
END_TEST

/* Chunks of version 2 and no manifest (a publisher that died): version 1 keeps serving. */
START_TEST(publication_without_manifest_is_not_applied) {
    start_broker();
    sr_model_publisher *p = new_publisher(true);
    sr_buffer f1 = model_file(1, 60, 1), f2 = model_file(2, 60, 2);
    sr_model_publication done;
    publish(p, &f1, &done);
    record r[64];
    int n = make_records(&f2, CHUNK, -1, r, 64);
    produce_raw(r, n - 1);
    sr_model_subscriber *s = caught_up_subscriber();
    expect_latest(sr_model_subscriber_latest(s), &f1, 1);
    ck_assert_uint_eq(sr_model_subscriber_get_stats(s).applied, 1);
    sr_model_subscriber_free(s);
    free_records(r, n);
    sr_model_publisher_free(p);
    sr_buffer_free(&f1);
    sr_buffer_free(&f2);
    stop_broker();
}
END_TEST

START_TEST(corrupted_chunk_is_rejected_previous_kept) {
    start_broker();
    sr_model_publisher *p = new_publisher(true);
    sr_buffer f1 = model_file(1, 60, 1), f2 = model_file(2, 60, 2);
    sr_model_publication done;
    publish(p, &f1, &done);
    sr_model_subscriber *running = caught_up_subscriber();
    record r[64];
    int n = make_records(&f2, CHUNK, 3, r, 64);
    produce_raw(r, n);
    bool updated = false;
    sr_error err;
    for (int i = 0; i < 30 && sr_model_subscriber_get_stats(running).rejected == 0; i++)
        ck_assert_int_eq(sr_model_subscriber_poll(running, 100, &updated, &err), SR_OK);
    ck_assert(!updated);
    sr_model_subscriber_stats stats = sr_model_subscriber_get_stats(running);
    ck_assert_uint_eq(stats.rejected, 1);
    ck_assert_ptr_nonnull(strstr(stats.last_rejection, "SHA-256 mismatch"));
    expect_latest(sr_model_subscriber_latest(running), &f1, 1);
    sr_model_subscriber *fresh = caught_up_subscriber();
    expect_latest(sr_model_subscriber_latest(fresh), &f1, 1);
    sr_model_subscriber_free(fresh);
    sr_model_subscriber_free(running);
    free_records(r, n);
    sr_model_publisher_free(p);
    sr_buffer_free(&f1);
    sr_buffer_free(&f2);
    stop_broker();
}
END_TEST

/* Reads the whole model topic: keys and whether each value is null, in order. */
static int read_topic(char keys[][MODEL_CHUNK_KEY_MAX], bool *null_value, int cap) {
    rd_kafka_conf_t *conf;
    sr_error err;
    ck_assert_int_eq(sr_kafka_conf_new(NULL, sr_embedded_broker_bootstrap(broker), &conf, &err), SR_OK);
    ck_assert_int_eq(sr_kafka_conf_set(conf, "group.id", "test-read", &err), SR_OK);
    ck_assert_int_eq(sr_kafka_conf_set(conf, "enable.partition.eof", "true", &err), SR_OK);
    char reason[256];
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, reason, sizeof reason);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, SR_TOPIC_MODELS, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    ck_assert_int_eq(rd_kafka_assign(c, list), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(list);
    int n = 0;
    for (int polls = 0; polls < 300; polls++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m) continue;
        bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
        if (!m->err && n < cap) {
            snprintf(keys[n], MODEL_CHUNK_KEY_MAX, "%.*s", (int)m->key_len, (const char *)m->key);
            null_value[n++] = m->payload == NULL;
        }
        rd_kafka_message_destroy(m);
        if (eof) break;
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return n;
}

START_TEST(stale_chunk_keys_get_tombstones) {
    start_broker();
    sr_model_publisher *p = new_publisher(true);
    sr_buffer big = model_file(1, 100, 1), small = model_file(2, 20, 2), small2 = model_file(3, 20, 3);
    sr_model_publication d1, d2, d3;
    publish(p, &big, &d1);
    publish(p, &small, &d2);
    ck_assert_int_gt(d1.chunk_count, d2.chunk_count);
    ck_assert_int_eq(d2.tombstones, d1.chunk_count - d2.chunk_count);

    static char keys[256][MODEL_CHUNK_KEY_MAX];
    static bool null_value[256];
    int n = read_topic(keys, null_value, 256);
    /* version 1: chunks, manifest; version 2: chunks, manifest, tombstones. */
    ck_assert_int_eq(n, d1.chunk_count + 1 + d2.chunk_count + 1 + d2.tombstones);
    int at = d1.chunk_count + 1 + d2.chunk_count;
    ck_assert_str_eq(keys[at], "manifest");
    ck_assert(!null_value[at]);
    for (int i = 0; i < d2.tombstones; i++) {
        char want[MODEL_CHUNK_KEY_MAX];
        model_chunk_key(d2.chunk_count + i, want);
        ck_assert_str_eq(keys[at + 1 + i], want);
        ck_assert(null_value[at + 1 + i]);
    }
    /* Those keys are dead now: the next publication deletes nothing more. */
    publish(p, &small2, &d3);
    ck_assert_int_eq(d3.tombstones, 0);
    sr_model_subscriber *s = caught_up_subscriber();
    expect_latest(sr_model_subscriber_latest(s), &small2, 3);
    sr_model_subscriber_free(s);
    sr_model_publisher_free(p);
    sr_buffer_free(&big);
    sr_buffer_free(&small);
    sr_buffer_free(&small2);
    stop_broker();
}
END_TEST

START_TEST(options_are_checked) {
    sr_model_publisher *p;
    sr_model_subscriber *s;
    sr_error err;
    sr_model_publisher_options o = {.bootstrap = "127.0.0.1:1", .chunk_max_bytes = 10};
    ck_assert_int_eq(sr_model_publisher_new(&o, &p, &err), SR_ERR_CONFIG);
    o.chunk_max_bytes = 2000000;  /* beyond librdkafka's message.max.bytes */
    o.no_transactions = true;
    ck_assert_int_eq(sr_model_publisher_new(&o, &p, &err), SR_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.message, "message.max.bytes"));

    start_broker();
    sr_error e2;
    ck_assert_int_eq(sr_embedded_broker_create_topic(broker, "three", 3, &e2), SR_OK);
    sr_model_subscriber_options so = {.bootstrap = sr_embedded_broker_bootstrap(broker), .topic = "three"};
    ck_assert_int_eq(sr_model_subscriber_new(&so, &s, &err), SR_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.message, "3 partitions"));
    stop_broker();
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("model_publish");
    TCase *records = tcase_create("records");
    tcase_add_test(records, records_round_trip_and_reject_damage);
    tcase_add_test(records, keys_are_canonical);
    tcase_add_test(records, avro_c_reads_our_records);
    suite_add_tcase(s, records);
    TCase *assembler = tcase_create("assembler");
    tcase_add_test(assembler, assembler_applies_complete_versions_in_order);
    tcase_add_test(assembler, assembler_keeps_interleaved_publications_apart);
    tcase_add_test(assembler, assembler_never_mixes_two_files_of_one_version);
    tcase_add_test(assembler, assembler_rejects_damaged_chunks_and_keeps_serving);
    tcase_add_test(assembler, assembler_checks_the_version_inside_the_file);
    tcase_add_test(assembler, assembler_limits_sizes);
    suite_add_tcase(s, assembler);
    TCase *kafka = tcase_create("embedded_broker");
    tcase_set_timeout(kafka, 120);
    tcase_add_loop_test(kafka, publish_and_read_back, 0, 2);  /* transactional, idempotent only */
    tcase_add_test(kafka, two_versions_hot_and_cold);
    tcase_add_test(kafka, publication_without_manifest_is_not_applied);
    tcase_add_test(kafka, corrupted_chunk_is_rejected_previous_kept);
    tcase_add_test(kafka, stale_chunk_keys_get_tombstones);
    tcase_add_test(kafka, options_are_checked);
    suite_add_tcase(s, kafka);
    return s;
}
