/* test_vocab.c — sr_vocab: distinct sorted ids, lookups, extremes, and a large
 * random set checked against bsearch over a sorted reference. */
#include <stdlib.h>
#include <string.h>

#include "sr_vocab.h"
#include "test_suite.h"

static int compare_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

START_TEST(duplicates_collapse_and_rows_ascend) {
    int64_t ids[] = {42, 7, 42, -3, 7, 7, 1000};
    sr_vocab v;
    sr_error err;
    ck_assert_int_eq(sr_vocab_build(&v, ids, 7, &err), SR_OK);
    ck_assert_uint_eq(v.count, 4);
    int64_t want[] = {-3, 7, 42, 1000};
    for (uint32_t r = 0; r < 4; r++) {
        ck_assert_int_eq(v.ids[r], want[r]);
        ck_assert_int_eq(sr_vocab_row(&v, want[r]), (int32_t)r);
    }
    ck_assert_int_eq(sr_vocab_row(&v, 8), SR_VOCAB_UNKNOWN);
    ck_assert_int_eq(sr_vocab_row(&v, 0), SR_VOCAB_UNKNOWN);
    sr_vocab_free(&v);
    sr_vocab_free(&v);  /* safe twice */
}
END_TEST

START_TEST(order_of_input_does_not_matter) {
    int64_t a[] = {5, 1, 9, 3}, b[] = {9, 3, 3, 1, 5};
    sr_vocab va, vb;
    ck_assert_int_eq(sr_vocab_build(&va, a, 4, NULL), SR_OK);
    ck_assert_int_eq(sr_vocab_build(&vb, b, 5, NULL), SR_OK);
    ck_assert_uint_eq(va.count, vb.count);
    ck_assert_int_eq(memcmp(va.ids, vb.ids, va.count * sizeof *va.ids), 0);
    sr_vocab_free(&va);
    sr_vocab_free(&vb);
}
END_TEST

START_TEST(extreme_ids) {
    int64_t ids[] = {INT64_MAX, 0, INT64_MIN, -1, INT64_MIN + 1, INT64_MAX - 1};
    sr_vocab v;
    ck_assert_int_eq(sr_vocab_build(&v, ids, 6, NULL), SR_OK);
    ck_assert_uint_eq(v.count, 6);
    ck_assert_int_eq(sr_vocab_row(&v, INT64_MIN), 0);
    ck_assert_int_eq(sr_vocab_row(&v, INT64_MIN + 1), 1);
    ck_assert_int_eq(sr_vocab_row(&v, -1), 2);
    ck_assert_int_eq(sr_vocab_row(&v, 0), 3);
    ck_assert_int_eq(sr_vocab_row(&v, INT64_MAX - 1), 4);
    ck_assert_int_eq(sr_vocab_row(&v, INT64_MAX), 5);
    ck_assert_int_eq(sr_vocab_row(&v, 1), SR_VOCAB_UNKNOWN);
    ck_assert_int_eq(sr_vocab_row(&v, INT64_MIN + 2), SR_VOCAB_UNKNOWN);
    sr_vocab_free(&v);
}
END_TEST

START_TEST(empty_vocabulary_knows_nothing) {
    sr_vocab v;
    ck_assert_int_eq(sr_vocab_build(&v, NULL, 0, NULL), SR_OK);
    ck_assert_uint_eq(v.count, 0);
    ck_assert_int_eq(sr_vocab_row(&v, 0), SR_VOCAB_UNKNOWN);
    ck_assert_int_eq(sr_vocab_row(&v, INT64_MIN), SR_VOCAB_UNKNOWN);
    sr_vocab_free(&v);
    sr_vocab zeroed = {0};
    ck_assert_int_eq(sr_vocab_row(&zeroed, 1), SR_VOCAB_UNKNOWN);
}
END_TEST

START_TEST(null_ids_with_a_count_fail) {
    sr_vocab v;
    sr_error err;
    ck_assert_int_eq(sr_vocab_build(&v, NULL, 3, &err), SR_ERR_INVALID_ARG);
    ck_assert_ptr_null(v.ids);
}
END_TEST

static uint64_t next_random(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* 200k ids drawn from a small range (many duplicates) and a wide one, then a
 * million lookups of present and absent ids against bsearch. */
START_TEST(large_random_set_matches_bsearch) {
    enum { N = 200000, LOOKUPS = 1000000 };
    int64_t *ids = malloc(N * sizeof *ids), *ref = malloc(N * sizeof *ref);
    ck_assert_ptr_nonnull(ids);
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < N; i++)
        ids[i] = i % 2 ? (int64_t)(next_random(&s) % 150000) : (int64_t)next_random(&s);
    memcpy(ref, ids, N * sizeof *ids);
    qsort(ref, N, sizeof *ref, compare_i64);
    size_t distinct = 0;
    for (size_t i = 0; i < N; i++)
        if (i == 0 || ref[i] != ref[distinct - 1]) ref[distinct++] = ref[i];
    sr_vocab v;
    ck_assert_int_eq(sr_vocab_build(&v, ids, N, NULL), SR_OK);
    ck_assert_uint_eq(v.count, distinct);
    ck_assert_int_eq(memcmp(v.ids, ref, distinct * sizeof *ref), 0);
    for (size_t i = 0; i < LOOKUPS; i++) {
        int64_t id = i % 3 == 0 ? ids[next_random(&s) % N]
                   : i % 3 == 1 ? (int64_t)(next_random(&s) % 300000) : (int64_t)next_random(&s);
        int64_t *found = bsearch(&id, ref, distinct, sizeof *ref, compare_i64);
        int32_t want = found ? (int32_t)(found - ref) : SR_VOCAB_UNKNOWN;
        ck_assert_int_eq(sr_vocab_row(&v, id), want);
    }
    sr_vocab_free(&v);
    free(ids);
    free(ref);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("vocab");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, duplicates_collapse_and_rows_ascend);
    tcase_add_test(tc, order_of_input_does_not_matter);
    tcase_add_test(tc, extreme_ids);
    tcase_add_test(tc, empty_vocabulary_knows_nothing);
    tcase_add_test(tc, null_ids_with_a_count_fail);
    tcase_add_test(tc, large_random_set_matches_bsearch);
    suite_add_tcase(s, tc);
    return s;
}
