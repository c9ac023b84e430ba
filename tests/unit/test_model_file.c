/* test_model_file.c — the model file: round trips, atomic saving, and every way
 * a file can be damaged failing with its own status and never crashing. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "modelio/checksum.h"
#include "sr_model_file.h"
#include "test_suite.h"

/* A small model: 5 items, E=3, H=4, window 2, GRU with item attention. */
static sr_model *small_model(int64_t version) {
    sr_model_config config = {.item_count = 5, .embed_dim = 3, .hidden_dim = 4, .window = 2,
                              .cell = SR_CELL_GRU, .attention = SR_ATTENTION_ITEMS};
    sr_model *m;
    sr_error err;
    ck_assert_int_eq(sr_model_new(&config, &m, &err), SR_OK);
    sr_model_init_random(m, 42);
    static const int64_t ids[] = {100, -3, 7, 4000000000000LL, 42};
    ck_assert_int_eq(sr_vocab_build(&m->vocab, ids, 5, &err), SR_OK);
    m->version = version;
    return m;
}

static sr_model_meta sample_meta(void) {
    sr_model_meta meta = {.created_at_ms = 1767225600123LL};
    sr_error err;
    ck_assert_int_eq(sr_model_meta_set_note(&meta, "trainer-1 abc123", &err), SR_OK);
    ck_assert_int_eq(sr_model_meta_add_metric(&meta, "hr@10", 0.3125, &err), SR_OK);
    ck_assert_int_eq(sr_model_meta_add_metric(&meta, "ndcg@10", 0.171875, &err), SR_OK);
    return meta;
}

/* The file of a small model; meta empty when with_meta is 0, so that the
 * offsets below are fixed. */
static sr_buffer small_file(int with_meta) {
    sr_model *m = small_model(7);
    sr_model_meta meta = sample_meta();
    sr_buffer file = {0};
    sr_error err;
    ck_assert_int_eq(sr_model_file_encode(m, with_meta ? &meta : NULL, &file, &err), SR_OK);
    sr_model_free(m);
    return file;
}

/* Offsets in a file without metadata (sr_model_file.h's layout). */
enum {
    AT_VERSION = 8, AT_ITEM_COUNT = 12, AT_EMBED = 16, AT_CELL = 28, AT_ATTENTION = 32, AT_TIED = 36,
    AT_MODEL_VERSION = 40, AT_CREATED = 48, AT_NOTE_LEN = 56, AT_METRIC_COUNT = 60, AT_VOCAB_COUNT = 64,
    AT_IDS = 68, AT_PARAM_COUNT = AT_IDS + 5 * 8, AT_PARAMS = AT_PARAM_COUNT + 8,
};

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* After an edit, a correct checksum, so that the checks behind it are reached. */
static void refresh_crc(sr_buffer *file) {
    put32(file->data + file->len - 4, modelio_crc32c(0, file->data, file->len - 4));
}

static sr_status load(const sr_buffer *file, sr_error *err) {
    sr_model *m = NULL;
    sr_status s = sr_model_load_buffer(file->data, file->len, &m, NULL, err);
    if (s == SR_OK) sr_model_free(m);
    return s;
}

static void expect_failure(const sr_buffer *file, sr_status status, const char *words) {
    sr_error err = {0};
    ck_assert_int_eq(load(file, &err), status);
    ck_assert_int_eq(err.status, status);
    ck_assert_msg(strstr(err.message, words) != NULL, "'%s' not in: %s", words, err.message);
}

START_TEST(checksums_match_known_values) {
    ck_assert_uint_eq(modelio_crc32c(0, "123456789", 9), 0xe3069283u);
    ck_assert_uint_eq(modelio_crc32c(modelio_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
    ck_assert_uint_eq(modelio_crc32c(0, "", 0), 0);
    uint8_t digest[32];
    char hex[65];
    sr_error err;
    ck_assert_int_eq(modelio_sha256("abc", 3, digest, &err), SR_OK);
    modelio_hex(digest, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(round_trip_keeps_everything) {
    sr_model *m = small_model(7);
    sr_model_meta meta = sample_meta(), back;
    sr_buffer file = {0};
    sr_error err;
    ck_assert_int_eq(sr_model_file_encode(m, &meta, &file, &err), SR_OK);
    ck_assert_int_eq(memcmp(file.data, "SRMODEL\0", 8), 0);

    sr_model_file_info info;
    ck_assert_int_eq(sr_model_file_inspect(file.data, file.len, &info, &err), SR_OK);
    ck_assert_uint_eq(info.format_version, SR_MODEL_FILE_VERSION);
    ck_assert_uint_eq(info.file_bytes, file.len);
    ck_assert_uint_eq(info.param_count, m->param_count);
    ck_assert_int_eq(info.model_version, 7);

    sr_model *loaded;
    ck_assert_int_eq(sr_model_load_buffer(file.data, file.len, &loaded, &back, &err), SR_OK);
    ck_assert_int_eq(memcmp(&loaded->config, &m->config, sizeof m->config), 0);
    ck_assert_int_eq(loaded->version, 7);
    ck_assert_uint_eq(loaded->vocab.count, 5);
    ck_assert_int_eq(memcmp(loaded->vocab.ids, m->vocab.ids, 5 * sizeof(int64_t)), 0);
    ck_assert_int_eq(sr_vocab_row(&loaded->vocab, 4000000000000LL), 4);
    ck_assert_uint_eq(loaded->param_count, m->param_count);
    ck_assert_int_eq(memcmp(loaded->data, m->data, m->param_count * sizeof(float)), 0);
    ck_assert_ptr_eq(loaded->t.item_embed, loaded->data);  /* tensor views laid out */
    ck_assert_int_eq(back.created_at_ms, meta.created_at_ms);
    ck_assert_str_eq(back.note, "trainer-1 abc123");
    ck_assert_uint_eq(back.metric_count, 2);
    ck_assert_str_eq(back.metrics[1].name, "ndcg@10");
    ck_assert(back.metrics[1].value == 0.171875);

    /* Encoding what was loaded gives the same bytes. */
    sr_buffer again = {0};
    ck_assert_int_eq(sr_model_file_encode(loaded, &back, &again, &err), SR_OK);
    ck_assert_uint_eq(again.len, file.len);
    ck_assert_int_eq(memcmp(again.data, file.data, file.len), 0);
    sr_buffer_free(&again);
    sr_model_free(loaded);
    sr_model_free(m);
    sr_buffer_free(&file);
}
END_TEST

START_TEST(every_configuration_round_trips) {
    for (int cell = 0; cell < 2; cell++)
        for (int attention = 0; attention < 3; attention++)
            for (int tied = 0; tied < 2; tied++) {
                sr_model_config config = {.item_count = 3, .embed_dim = 2, .hidden_dim = 3, .window = 4,
                                          .cell = (sr_cell_kind)cell, .attention = (sr_attention_kind)attention,
                                          .tied_embeddings = tied};
                sr_model *m, *back;
                sr_error err;
                ck_assert_int_eq(sr_model_new(&config, &m, &err), SR_OK);
                sr_model_init_random(m, (uint64_t)(cell * 6 + attention * 2 + tied));
                static const int64_t ids[] = {1, 2, 3};
                ck_assert_int_eq(sr_vocab_build(&m->vocab, ids, 3, &err), SR_OK);
                sr_buffer file = {0};
                ck_assert_int_eq(sr_model_file_encode(m, NULL, &file, &err), SR_OK);
                ck_assert_int_eq(sr_model_load_buffer(file.data, file.len, &back, NULL, &err), SR_OK);
                ck_assert_int_eq(back->config.tied_embeddings, tied);
                ck_assert_int_eq(memcmp(back->data, m->data, m->param_count * sizeof(float)), 0);
                sr_model_free(back);
                sr_model_free(m);
                sr_buffer_free(&file);
            }
}
END_TEST

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

START_TEST(save_is_atomic_and_loads_back) {
    char dir[] = "/tmp/sr-model-file-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/model.srm", dir);
    sr_model *m = small_model(3);
    sr_model_meta meta = sample_meta(), back;
    sr_error err;
    ck_assert_int_eq(sr_model_save(m, &meta, path, &err), SR_OK);
    m->version = 4;
    ck_assert_int_eq(sr_model_save(m, &meta, path, &err), SR_OK);  /* replaces */
    ck_assert_int_eq(count_entries(dir), 1);                       /* no temporary left */
    sr_model *loaded;
    ck_assert_int_eq(sr_model_load_file(path, &loaded, &back, &err), SR_OK);
    ck_assert_int_eq(loaded->version, 4);
    sr_model_free(loaded);

    /* A model that cannot be written leaves the old file as it was. */
    m->data[3] = NAN;
    ck_assert_int_eq(sr_model_save(m, &meta, path, &err), SR_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err.message, "NaN"));
    ck_assert_int_eq(count_entries(dir), 1);
    ck_assert_int_eq(sr_model_load_file(path, &loaded, &back, &err), SR_OK);
    ck_assert_int_eq(loaded->version, 4);
    sr_model_free(loaded);

    char missing[300];
    snprintf(missing, sizeof missing, "%s/no/such/dir/model.srm", dir);
    m->data[3] = 0;
    ck_assert_int_eq(sr_model_save(m, &meta, missing, &err), SR_ERR_IO);
    ck_assert_int_eq(sr_model_load_file(missing, &loaded, &back, &err), SR_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.message, missing));

    /* A damaged file's message starts with its path. */
    FILE *f = fopen(path, "r+b");
    fseek(f, -20, SEEK_END);  /* in the parameters */
    fputc(0x55, f);
    fclose(f);
    ck_assert_int_eq(sr_model_load_file(path, &loaded, &back, &err), SR_ERR_INVALID_VALUE);
    ck_assert_ptr_nonnull(strstr(err.message, path));
    ck_assert_ptr_nonnull(strstr(err.message, "checksum"));

    unlink(path);
    rmdir(dir);
    sr_model_free(m);
}
END_TEST

START_TEST(encode_refuses_inconsistent_models) {
    sr_model *m = small_model(1);
    sr_buffer file = {0};
    sr_error err;
    m->data[0] = INFINITY;
    ck_assert_int_eq(sr_model_file_encode(m, NULL, &file, &err), SR_ERR_INVALID_ARG);
    ck_assert_uint_eq(file.len, 0);
    m->data[0] = 0;
    m->version = -1;
    ck_assert_int_eq(sr_model_file_encode(m, NULL, &file, &err), SR_ERR_INVALID_ARG);
    m->version = 1;
    m->config.item_count = 6;  /* the vocabulary has 5 */
    ck_assert_int_eq(sr_model_file_encode(m, NULL, &file, &err), SR_ERR_INVALID_ARG);
    ck_assert_uint_eq(file.len, 0);
    m->config.item_count = 5;
    ck_assert_int_eq(sr_model_file_encode(m, NULL, &file, &err), SR_OK);
    sr_buffer_free(&file);
    sr_model_free(m);
}
END_TEST

START_TEST(meta_helpers_enforce_limits) {
    sr_model_meta meta = {0};
    sr_error err;
    char name[SR_MODEL_METRIC_NAME_MAX + 2];
    memset(name, 'm', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    ck_assert_int_eq(sr_model_meta_add_metric(&meta, name, 1, &err), SR_ERR_LIMIT);
    ck_assert_int_eq(sr_model_meta_add_metric(&meta, "", 1, &err), SR_ERR_INVALID_ARG);
    ck_assert_int_eq(sr_model_meta_add_metric(&meta, "x", NAN, &err), SR_ERR_INVALID_ARG);
    ck_assert_int_eq(sr_model_meta_add_metric(&meta, "x", 1, &err), SR_OK);
    ck_assert_int_eq(sr_model_meta_add_metric(&meta, "x", 2, &err), SR_ERR_INVALID_ARG);
    for (int i = 1; i < SR_MODEL_METRICS_MAX; i++) {
        snprintf(name, sizeof name, "m%d", i);
        ck_assert_int_eq(sr_model_meta_add_metric(&meta, name, i, &err), SR_OK);
    }
    ck_assert_int_eq(sr_model_meta_add_metric(&meta, "one-more", 1, &err), SR_ERR_LIMIT);
    char note[SR_MODEL_NOTE_MAX + 2];
    memset(note, 'n', sizeof note - 1);
    note[sizeof note - 1] = '\0';
    ck_assert_int_eq(sr_model_meta_set_note(&meta, note, &err), SR_ERR_LIMIT);
    note[SR_MODEL_NOTE_MAX] = '\0';
    ck_assert_int_eq(sr_model_meta_set_note(&meta, note, &err), SR_OK);

    /* The fullest metadata round trips. */
    sr_model *m = small_model(2), *back;
    sr_buffer file = {0};
    sr_model_meta read;
    ck_assert_int_eq(sr_model_file_encode(m, &meta, &file, &err), SR_OK);
    ck_assert_int_eq(sr_model_load_buffer(file.data, file.len, &back, &read, &err), SR_OK);
    ck_assert_int_eq(memcmp(read.note, meta.note, sizeof meta.note), 0);
    ck_assert_uint_eq(read.metric_count, SR_MODEL_METRICS_MAX);
    sr_model_free(back);
    sr_model_free(m);
    sr_buffer_free(&file);
}
END_TEST

/* Every prefix of a file is truncated, and says so. */
START_TEST(truncation_at_every_byte) {
    sr_buffer file = small_file(1);
    for (size_t n = 0; n < file.len; n++) {
        sr_error err;
        sr_model *m = NULL;
        ck_assert_int_eq(sr_model_load_buffer(file.data, n, &m, NULL, &err), SR_ERR_TRUNCATED);
        ck_assert_ptr_null(m);
        ck_assert_ptr_nonnull(strstr(err.message, "model file: "));
    }
    sr_error err;
    ck_assert_int_eq(sr_model_file_inspect(NULL, 0, NULL, &err), SR_ERR_TRUNCATED);
    sr_buffer_free(&file);
}
END_TEST

START_TEST(trailing_bytes_are_refused) {
    sr_buffer file = small_file(1);
    sr_error err;
    ck_assert_int_eq(sr_buffer_append(&file, "", 1, &err), SR_OK);
    expect_failure(&file, SR_ERR_TRAILING_BYTES, "1 bytes follow");
    sr_buffer_free(&file);
}
END_TEST

/* Any single bit flipped anywhere is caught (by the field it breaks, or by
 * the checksum); none loads. */
START_TEST(every_bit_flip_is_caught) {
    sr_buffer file = small_file(1);
    for (size_t i = 0; i < file.len; i++)
        for (int bit = 0; bit < 8; bit++) {
            file.data[i] ^= (uint8_t)(1u << bit);
            sr_error err;
            sr_model *m = NULL;
            ck_assert_msg(sr_model_load_buffer(file.data, file.len, &m, NULL, &err) != SR_OK,
                          "flip of bit %d of byte %zu was not caught", bit, i);
            file.data[i] ^= (uint8_t)(1u << bit);
        }
    sr_error err;
    ck_assert_int_eq(load(&file, &err), SR_OK);
    /* A flip in the parameters is the checksum's to catch. */
    file.data[file.len - 20] ^= 0x10;
    expect_failure(&file, SR_ERR_INVALID_VALUE, "checksum mismatch");
    sr_buffer_free(&file);
}
END_TEST

START_TEST(wrong_magic_and_version) {
    sr_buffer file = small_file(0);
    file.data[0] = 'X';
    expect_failure(&file, SR_ERR_BAD_MAGIC, "not a streamrec model file");
    file.data[0] = 'S';
    file.data[7] = '1';  /* "SRMODEL1" */
    expect_failure(&file, SR_ERR_BAD_MAGIC, "magic");
    file.data[7] = 0;
    put32(file.data + AT_VERSION, 2);
    refresh_crc(&file);
    expect_failure(&file, SR_ERR_INVALID_VALUE, "format version 2 is not supported");
    sr_error err;
    ck_assert_int_eq(sr_model_file_inspect("SRM", 3, NULL, &err), SR_ERR_TRUNCATED);
    ck_assert_int_eq(sr_model_file_inspect("PK\3\4", 4, NULL, &err), SR_ERR_BAD_MAGIC);
    sr_buffer_free(&file);
}
END_TEST

/* Lengths far beyond the file or the limits fail before any allocation: the
 * sanitizers and the test's memory would notice a 4 GB allocation. */
START_TEST(absurd_sizes) {
    static const struct {
        size_t at;
        int wide;
        uint64_t value;
        sr_status status;
        const char *words;
    } cases[] = {
        {AT_ITEM_COUNT, 0, 0xffffffffu, SR_ERR_CONFIG, "item_count 4294967295"},
        {AT_ITEM_COUNT, 0, 0, SR_ERR_CONFIG, "item_count 0"},
        {AT_EMBED, 0, 0x7fffffffu, SR_ERR_CONFIG, "embed_dim"},
        {AT_NOTE_LEN, 0, 0xffffffffu, SR_ERR_BAD_LENGTH, "note length"},
        {AT_METRIC_COUNT, 0, 1000000, SR_ERR_BAD_LENGTH, "metric_count 1000000"},
        {AT_VOCAB_COUNT, 0, 0xffffffffu, SR_ERR_BAD_LENGTH, "vocab_count 4294967295"},
        {AT_PARAM_COUNT, 1, UINT64_MAX, SR_ERR_BAD_LENGTH, "param_count 18446744073709551615"},
        {AT_PARAM_COUNT, 1, 1, SR_ERR_BAD_LENGTH, "param_count 1 "},
        {AT_CELL, 0, 9, SR_ERR_CONFIG, "cell kind 9"},
        {AT_ATTENTION, 0, 3, SR_ERR_CONFIG, "attention kind 3"},
        {AT_TIED, 0, 2, SR_ERR_CONFIG, "tied_embeddings is 2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sr_buffer file = small_file(0);
        if (cases[i].wide) put64(file.data + cases[i].at, cases[i].value);
        else put32(file.data + cases[i].at, (uint32_t)cases[i].value);
        refresh_crc(&file);
        expect_failure(&file, cases[i].status, cases[i].words);
        sr_buffer_free(&file);
    }
    /* A large configuration with a small file: truncated, not allocated. */
    sr_buffer file = small_file(0);
    put32(file.data + AT_ITEM_COUNT, 50000000);
    put32(file.data + AT_VOCAB_COUNT, 50000000);
    expect_failure(&file, SR_ERR_TRUNCATED, "vocabulary ids");
    sr_buffer_free(&file);
}
END_TEST

START_TEST(bad_values_behind_a_good_checksum) {
    sr_buffer file = small_file(0);
    uint32_t nan_bits = 0x7fc00000u, inf_bits = 0xff800000u;
    put32(file.data + AT_PARAMS + 4 * 10, nan_bits);
    refresh_crc(&file);
    expect_failure(&file, SR_ERR_INVALID_VALUE, "parameter 10 (byte");
    expect_failure(&file, SR_ERR_INVALID_VALUE, "is NaN");
    sr_buffer_free(&file);

    file = small_file(0);
    put32(file.data + file.len - 8, inf_bits);
    refresh_crc(&file);
    expect_failure(&file, SR_ERR_INVALID_VALUE, "infinite");
    sr_buffer_free(&file);

    file = small_file(0);  /* ids -3 7 42 100 4e12: make the second equal the first */
    put64(file.data + AT_IDS + 8, (uint64_t)-3);
    refresh_crc(&file);
    expect_failure(&file, SR_ERR_INVALID_VALUE, "distinct and ascending");
    sr_buffer_free(&file);

    file = small_file(0);
    put64(file.data + AT_IDS + 32, 0);  /* last id below the one before */
    refresh_crc(&file);
    expect_failure(&file, SR_ERR_INVALID_VALUE, "at row 4");
    sr_buffer_free(&file);

    file = small_file(0);
    put64(file.data + AT_MODEL_VERSION, (uint64_t)-5);
    refresh_crc(&file);
    expect_failure(&file, SR_ERR_INVALID_VALUE, "model_version -5");
    sr_buffer_free(&file);

    file = small_file(0);
    put64(file.data + AT_CREATED, (uint64_t)-1);
    refresh_crc(&file);
    expect_failure(&file, SR_ERR_INVALID_VALUE, "created_at_ms -1");
    sr_buffer_free(&file);
}
END_TEST

START_TEST(bad_metadata_behind_a_good_checksum) {
    sr_buffer file = small_file(1);
    /* The note "trainer-1 abc123" starts right after its length at 56. */
    file.data[AT_NOTE_LEN + 4 + 3] = 0;
    refresh_crc(&file);
    expect_failure(&file, SR_ERR_INVALID_VALUE, "note at byte 56 contains a NUL");
    sr_buffer_free(&file);

    /* Rename the second metric, "ndcg@10", to "hr@10", the first one's name. */
    file = small_file(1);
    size_t first = AT_NOTE_LEN + 4 + strlen("trainer-1 abc123") + 4 + 4;  /* "hr@10" */
    ck_assert_int_eq(memcmp(file.data + first, "hr@10", 5), 0);
    size_t second = first + 5 + 8 + 4;
    ck_assert_int_eq(memcmp(file.data + second, "ndcg@10", 7), 0);
    put32(file.data + second - 4, 5);
    memcpy(file.data + second, "hr@10", 5);
    memmove(file.data + second + 5, file.data + second + 7, file.len - (second + 7));
    file.len -= 2;
    refresh_crc(&file);
    expect_failure(&file, SR_ERR_INVALID_VALUE, "metric 'hr@10' appears twice");
    sr_buffer_free(&file);

    file = small_file(1);
    put64(file.data + first + 5, 0x7ff0000000000000ULL);  /* +inf */
    refresh_crc(&file);
    expect_failure(&file, SR_ERR_INVALID_VALUE, "metric 'hr@10' at byte");
    sr_buffer_free(&file);

    file = small_file(1);
    put32(file.data + first - 4, 0);
    refresh_crc(&file);
    expect_failure(&file, SR_ERR_BAD_LENGTH, "metric name length 0");
    sr_buffer_free(&file);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("model_file");
    TCase *tc = tcase_create("model_file");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, checksums_match_known_values);
    tcase_add_test(tc, round_trip_keeps_everything);
    tcase_add_test(tc, every_configuration_round_trips);
    tcase_add_test(tc, save_is_atomic_and_loads_back);
    tcase_add_test(tc, encode_refuses_inconsistent_models);
    tcase_add_test(tc, meta_helpers_enforce_limits);
    tcase_add_test(tc, truncation_at_every_byte);
    tcase_add_test(tc, trailing_bytes_are_refused);
    tcase_add_test(tc, every_bit_flip_is_caught);
    tcase_add_test(tc, wrong_magic_and_version);
    tcase_add_test(tc, absurd_sizes);
    tcase_add_test(tc, bad_values_behind_a_good_checksum);
    tcase_add_test(tc, bad_metadata_behind_a_good_checksum);
    suite_add_tcase(s, tc);
    return s;
}
