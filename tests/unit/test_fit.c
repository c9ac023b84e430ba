/* test_fit.c — a whole training run (sr_fit): the kept parameters are the best
 * validation epoch's, early stopping follows the patience, a model without a
 * vocabulary is refused; and the model scorer maps catalogue items the model
 * does not know to -inf. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sr_eval.h"
#include "sr_fit.h"
#include "test_model_util.h"
#include "test_suite.h"

enum { ITEMS = 40 };

/* The Markov dataset with a real vocabulary (ids 1000 + row). */
static void dataset_with_vocab(sr_dataset *d) {
    markov_dataset(d, 300, ITEMS, 11);
    int64_t ids[ITEMS];
    for (int i = 0; i < ITEMS; i++) ids[i] = 1000 + i;
    sr_error err;
    ck_assert_int_eq(sr_vocab_build(&d->vocab, ids, ITEMS, &err), SR_OK);
}

static sr_model *new_model(const sr_dataset *d) {
    sr_model_config mc = {.item_count = ITEMS, .embed_dim = 8, .hidden_dim = 8, .window = 4,
                          .cell = SR_CELL_GRU, .attention = SR_ATTENTION_ITEMS, .tied_embeddings = 1};
    sr_model *m;
    sr_error err;
    ck_assert_int_eq(sr_model_new(&mc, &m, &err), SR_OK);
    sr_model_init_random(m, 5);
    ck_assert_int_eq(sr_vocab_build(&m->vocab, d->vocab.ids, d->vocab.count, &err), SR_OK);
    return m;
}

static sr_eval_metrics validate(const sr_model *m, const sr_dataset *d) {
    sr_eval_options options;
    sr_eval_options_init(&options);
    options.split = SR_SPLIT_VALID;
    sr_eval_model_scorer *scorer;
    sr_error err;
    ck_assert_int_eq(sr_eval_model_scorer_new(m, &d->vocab, options.batch, &scorer, &err), SR_OK);
    sr_eval_metrics metrics;
    ck_assert_int_eq(sr_eval_run(d, &options, sr_eval_model_score, scorer, &metrics, &err), SR_OK);
    sr_eval_model_scorer_free(scorer);
    return metrics;
}

struct epochs_seen {
    uint32_t count;
    double ndcg[64];
    int improved[64];
};

static void record_epoch(void *context, const sr_fit_epoch *e) {
    struct epochs_seen *seen = context;
    ck_assert_uint_eq(e->epoch, seen->count + 1);
    seen->ndcg[seen->count] = e->valid.ndcg10;
    seen->improved[seen->count++] = e->improved;
}

static sr_train_config fast_config(void) {
    sr_train_config tc;
    sr_train_config_init(&tc);
    tc.batch_size = 32;
    tc.learning_rate = 2e-2f;
    tc.dropout_input = tc.dropout_output = 0.0f;
    tc.seed = 9;
    return tc;
}

START_TEST(keeps_the_best_epoch_and_stops_on_patience) {
    sr_dataset d;
    dataset_with_vocab(&d);
    sr_model *m = new_model(&d);
    sr_train_config tc = fast_config();
    struct epochs_seen seen = {0};
    sr_fit_options fit;
    sr_fit_options_init(&fit);
    fit.max_epochs = 60;
    fit.patience = 2;
    fit.on_epoch = record_epoch;
    fit.context = &seen;
    sr_fit_result result;
    sr_error err;
    ck_assert_int_eq(sr_fit(m, &d, &tc, &fit, &result, &err), SR_OK);

    ck_assert_uint_eq(seen.count, result.epochs);
    ck_assert_uint_ge(result.best_epoch, 1);
    /* The best epoch is the one with the highest validation NDCG@10 (the first
     * of equals), and each "improved" flag marks a new maximum. */
    double best = -1;
    for (uint32_t e = 0; e < seen.count; e++) {
        ck_assert_int_eq(seen.improved[e], seen.ndcg[e] > best);
        if (seen.ndcg[e] > best) best = seen.ndcg[e];
    }
    ck_assert_double_eq(seen.ndcg[result.best_epoch - 1], best);
    ck_assert_double_eq(result.best_valid.ndcg10, best);
    if (strcmp(result.stopped_because, "patience") == 0)
        ck_assert_uint_eq(result.epochs, result.best_epoch + fit.patience);
    else
        ck_assert_str_eq(result.stopped_because, "max epochs");
    /* The model holds the best epoch's parameters, not the last epoch's. */
    sr_eval_metrics again = validate(m, &d);
    ck_assert_double_eq_tol(again.ndcg10, result.best_valid.ndcg10, 1e-12);
    ck_assert_double_gt(result.best_valid.hr10, 0.9);  /* the chain is learnable */
    sr_model_free(m);
    sr_vocab_free(&d.vocab);
    dataset_by_hand_free(&d);
}
END_TEST

START_TEST(refuses_a_model_without_vocabulary) {
    sr_dataset d;
    dataset_with_vocab(&d);
    sr_model *m = new_model(&d);
    sr_vocab_free(&m->vocab);
    sr_train_config tc = fast_config();
    sr_fit_options fit;
    sr_fit_options_init(&fit);
    sr_fit_result result;
    sr_error err;
    ck_assert_int_eq(sr_fit(m, &d, &tc, &fit, &result, &err), SR_ERR_INVALID_ARG);
    sr_model_free(m);
    sr_vocab_free(&d.vocab);
    dataset_by_hand_free(&d);
}
END_TEST

START_TEST(scorer_gives_unknown_items_minus_infinity) {
    sr_dataset d;
    dataset_with_vocab(&d);
    /* A model that knows only the first half of the catalogue. */
    sr_model_config mc = {.item_count = ITEMS / 2, .embed_dim = 8, .hidden_dim = 8, .window = 4,
                          .cell = SR_CELL_GRU, .attention = SR_ATTENTION_ITEMS, .tied_embeddings = 1};
    sr_model *m;
    sr_error err;
    ck_assert_int_eq(sr_model_new(&mc, &m, &err), SR_OK);
    sr_model_init_random(m, 5);
    ck_assert_int_eq(sr_vocab_build(&m->vocab, d.vocab.ids, ITEMS / 2, &err), SR_OK);
    sr_eval_model_scorer *scorer;
    ck_assert_int_eq(sr_eval_model_scorer_new(m, &d.vocab, 4, &scorer, &err), SR_OK);
    ck_assert_uint_eq(sr_eval_model_scorer_unknown_items(scorer), ITEMS / 2);

    int32_t rows[] = {1, ITEMS - 1, 2};  /* one history event the model cannot know */
    uint8_t types[] = {0, 0, 0};
    sr_eval_query q = {.user = 0, .user_id = 1, .rows = rows, .types = types, .length = 3};
    float scores[ITEMS];
    ck_assert_int_eq(sr_eval_model_score(scorer, 1, &q, scores, &err), SR_OK);
    for (int r = 0; r < ITEMS; r++) {
        if (r < ITEMS / 2) ck_assert(isfinite(scores[r]));
        else ck_assert(scores[r] == -INFINITY);
    }
    ck_assert_uint_eq(sr_eval_model_scorer_unknown_events(scorer), 1);
    sr_eval_model_scorer_free(scorer);
    sr_model_free(m);
    sr_vocab_free(&d.vocab);
    dataset_by_hand_free(&d);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("fit");
    TCase *tc = tcase_create("fit");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, keeps_the_best_epoch_and_stops_on_patience);
    tcase_add_test(tc, refuses_a_model_without_vocabulary);
    tcase_add_test(tc, scorer_gives_unknown_items_minus_infinity);
    suite_add_tcase(s, tc);
    return s;
}
