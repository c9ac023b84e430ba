/* test_eval_metrics.c — ranks and metrics on hand-computed cases: rank 0, a
 * rank inside and beyond the cut-offs, ties both ways, NaN, masking. */
#include <math.h>

#include "sr_eval.h"
#include "test_suite.h"

#define EPS 1e-12

static sr_eval_metrics one(uint32_t greater, uint32_t ties, sr_eval_ties rule) {
    sr_eval_metrics m = {0};
    sr_eval_metrics_add(&m, (sr_eval_rank){greater, ties, 100}, rule);
    sr_eval_metrics_finish(&m);
    return m;
}

START_TEST(rank_zero_is_a_perfect_hit) {
    sr_eval_metrics m = one(0, 0, SR_EVAL_TIES_PESSIMISTIC);
    ck_assert_uint_eq(m.users, 1);
    ck_assert_double_eq_tol(m.hr1, 1, EPS);
    ck_assert_double_eq_tol(m.hr20, 1, EPS);
    ck_assert_double_eq_tol(m.ndcg5, 1, EPS);
    ck_assert_double_eq_tol(m.ndcg20, 1, EPS);
    ck_assert_double_eq_tol(m.mrr, 1, EPS);
    ck_assert_double_eq_tol(m.candidates, 100, EPS);
}
END_TEST

START_TEST(rank_four_hits_from_five_on) {
    sr_eval_metrics m = one(4, 0, SR_EVAL_TIES_PESSIMISTIC);
    ck_assert_double_eq_tol(m.hr1, 0, EPS);
    ck_assert_double_eq_tol(m.hr5, 1, EPS);
    ck_assert_double_eq_tol(m.hr10, 1, EPS);
    ck_assert_double_eq_tol(m.ndcg5, 1 / log2(6), EPS);
    ck_assert_double_eq_tol(m.ndcg10, 1 / log2(6), EPS);
    ck_assert_double_eq_tol(m.mrr, 0.2, EPS);
}
END_TEST

START_TEST(rank_boundaries) {
    sr_eval_metrics m = one(5, 0, SR_EVAL_TIES_PESSIMISTIC);  /* 6th place */
    ck_assert_double_eq_tol(m.hr5, 0, EPS);
    ck_assert_double_eq_tol(m.ndcg5, 0, EPS);
    ck_assert_double_eq_tol(m.hr10, 1, EPS);
    m = one(19, 0, SR_EVAL_TIES_PESSIMISTIC);
    ck_assert_double_eq_tol(m.hr20, 1, EPS);
    ck_assert_double_eq_tol(m.ndcg20, 1 / log2(21), EPS);
    m = one(20, 0, SR_EVAL_TIES_PESSIMISTIC);
    ck_assert_double_eq_tol(m.hr20, 0, EPS);
}
END_TEST

START_TEST(rank_beyond_twenty_only_counts_in_mrr) {
    sr_eval_metrics m = one(25, 0, SR_EVAL_TIES_PESSIMISTIC);
    ck_assert_double_eq_tol(m.hr20, 0, EPS);
    ck_assert_double_eq_tol(m.ndcg20, 0, EPS);
    ck_assert_double_eq_tol(m.mrr, 1.0 / 26, EPS);
}
END_TEST

START_TEST(pessimistic_ties_count_against_the_target) {
    sr_eval_metrics m = one(2, 3, SR_EVAL_TIES_PESSIMISTIC);  /* rank 5 */
    ck_assert_double_eq_tol(m.hr5, 0, EPS);
    ck_assert_double_eq_tol(m.hr10, 1, EPS);
    ck_assert_double_eq_tol(m.mrr, 1.0 / 6, EPS);
}
END_TEST

START_TEST(expected_ties_average_the_positions) {
    sr_eval_metrics m = one(2, 3, SR_EVAL_TIES_EXPECTED);  /* uniform over 2..5 */
    ck_assert_double_eq_tol(m.hr1, 0, EPS);
    ck_assert_double_eq_tol(m.hr5, 0.75, EPS);
    ck_assert_double_eq_tol(m.hr10, 1, EPS);
    double ndcg5 = (1 / log2(4) + 1 / log2(5) + 1 / log2(6)) / 4;
    ck_assert_double_eq_tol(m.ndcg5, ndcg5, EPS);
    ck_assert_double_eq_tol(m.mrr, (1.0 / 3 + 1.0 / 4 + 1.0 / 5 + 1.0 / 6) / 4, EPS);
    /* a large tie group: MRR through the harmonic series */
    m = one(10, 999, SR_EVAL_TIES_EXPECTED);
    double sum = 0;
    for (int p = 10; p <= 1009; p++) sum += 1.0 / (p + 1);
    ck_assert_double_eq_tol(m.mrr, sum / 1000, 1e-12);
    ck_assert_double_eq_tol(m.hr20, 10.0 / 1000, EPS);
}
END_TEST

START_TEST(means_over_users) {
    sr_eval_metrics m = {0};
    sr_eval_metrics_add(&m, (sr_eval_rank){0, 0, 10}, SR_EVAL_TIES_PESSIMISTIC);
    sr_eval_metrics_add(&m, (sr_eval_rank){30, 0, 20}, SR_EVAL_TIES_PESSIMISTIC);
    sr_eval_metrics_finish(&m);
    ck_assert_uint_eq(m.users, 2);
    ck_assert_double_eq_tol(m.hr10, 0.5, EPS);
    ck_assert_double_eq_tol(m.mrr, (1 + 1.0 / 31) / 2, EPS);
    ck_assert_double_eq_tol(m.candidates, 15, EPS);
    sr_eval_metrics none = {0};
    sr_eval_metrics_finish(&none);
    ck_assert_uint_eq(none.users, 0);
}
END_TEST

START_TEST(full_rank_skips_masked_rows_but_never_the_target) {
    float scores[] = {5, 9, 3, 9, 1, 3};
    uint8_t masked[] = {1, 1, 1, 0, 0, 0};
    /* target row 2 (score 3) is masked too: ignored. Rows 0, 1 masked away;
     * row 3 (9) greater, row 5 (3) tie, row 4 below. */
    sr_eval_rank r = sr_eval_rank_full(scores, 6, 2, masked);
    ck_assert_uint_eq(r.greater, 1);
    ck_assert_uint_eq(r.ties, 1);
    ck_assert_uint_eq(r.candidates, 3);
    r = sr_eval_rank_full(scores, 6, 2, NULL);
    ck_assert_uint_eq(r.greater, 3);
    ck_assert_uint_eq(r.ties, 1);
    ck_assert_uint_eq(r.candidates, 5);
}
END_TEST

START_TEST(sampled_rank_looks_only_at_negatives) {
    float scores[] = {5, 9, 3, 9, 1, 3};
    int32_t negatives[] = {4, 5, 1};
    sr_eval_rank r = sr_eval_rank_sampled(scores, 0, negatives, 3);
    ck_assert_uint_eq(r.greater, 1);
    ck_assert_uint_eq(r.ties, 0);
    ck_assert_uint_eq(r.candidates, 3);
}
END_TEST

START_TEST(nan_scores) {
    float scores[] = {NAN, 1, NAN, 2};
    sr_eval_rank r = sr_eval_rank_full(scores, 4, 0, NULL);  /* NaN target: last */
    ck_assert_uint_eq(r.greater, 3);
    ck_assert_uint_eq(r.ties, 0);
    r = sr_eval_rank_full(scores, 4, 1, NULL);  /* NaN candidates count as ties */
    ck_assert_uint_eq(r.greater, 1);
    ck_assert_uint_eq(r.ties, 2);
    float inf[] = {-INFINITY, -INFINITY, 0};
    r = sr_eval_rank_full(inf, 3, 0, NULL);  /* an unknown target: behind all */
    ck_assert_uint_eq(r.greater + r.ties, 2);
}
END_TEST

START_TEST(names_parse_both_ways) {
    ck_assert_int_eq(sr_eval_protocol_parse("sampled"), SR_EVAL_SAMPLED);
    ck_assert_int_eq(sr_eval_protocol_parse("FULL"), SR_EVAL_FULL);
    ck_assert_int_eq(sr_eval_protocol_parse("loo"), -1);
    ck_assert_int_eq(sr_eval_sampler_parse("popularity"), SR_EVAL_SAMPLER_POPULARITY);
    ck_assert_int_eq(sr_eval_ties_parse("expected"), SR_EVAL_TIES_EXPECTED);
    ck_assert_str_eq(sr_eval_ties_name(SR_EVAL_TIES_PESSIMISTIC), "pessimistic");
    ck_assert_str_eq(sr_eval_protocol_name((sr_eval_protocol)7), "unknown");
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("eval_metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, rank_zero_is_a_perfect_hit);
    tcase_add_test(tc, rank_four_hits_from_five_on);
    tcase_add_test(tc, rank_boundaries);
    tcase_add_test(tc, rank_beyond_twenty_only_counts_in_mrr);
    tcase_add_test(tc, pessimistic_ties_count_against_the_target);
    tcase_add_test(tc, expected_ties_average_the_positions);
    tcase_add_test(tc, means_over_users);
    tcase_add_test(tc, full_rank_skips_masked_rows_but_never_the_target);
    tcase_add_test(tc, sampled_rank_looks_only_at_negatives);
    tcase_add_test(tc, nan_scores);
    tcase_add_test(tc, names_parse_both_ways);
    suite_add_tcase(s, tc);
    return s;
}
