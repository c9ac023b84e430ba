/* test_continuous.c — continuous training without Kafka (sr_continuous.h):
 * when a round is due, the publish decision, growing a model to a bigger
 * catalogue (rows copied by id, scores of known items unchanged), the
 * hold-out (exactly each new user's last event, never a training or
 * validation target), and a whole round on a small learnable stream. */
#include "test_model_util.h"
#include "test_suite.h"
#include "sr_continuous.h"

/* ---- when ---- */

START_TEST(a_round_is_due_on_either_trigger_and_never_without_events) {
    sr_continuous_trigger count = {.events = 100};
    ck_assert(!sr_continuous_round_due(&count, 99, 1e9));
    ck_assert(sr_continuous_round_due(&count, 100, 0));
    ck_assert(sr_continuous_round_due(&count, 5000, 0));
    sr_continuous_trigger time = {.interval_seconds = 60};
    ck_assert(!sr_continuous_round_due(&time, 1, 59.9));
    ck_assert(sr_continuous_round_due(&time, 1, 60));
    ck_assert(!sr_continuous_round_due(&time, 0, 1e9));
    sr_continuous_trigger both = {.interval_seconds = 60, .events = 100};
    ck_assert(sr_continuous_round_due(&both, 100, 1));
    ck_assert(sr_continuous_round_due(&both, 1, 61));
    ck_assert(!sr_continuous_round_due(&both, 99, 59));
    ck_assert(!sr_continuous_round_due(&both, 0, 1e9));
    sr_continuous_trigger none = {0};
    ck_assert(!sr_continuous_round_due(&none, 1000000, 1e9));
}
END_TEST

/* ---- whether ---- */

static sr_eval_metrics figures(size_t users, double ndcg10) {
    return (sr_eval_metrics){.users = users, .ndcg10 = ndcg10, .hr10 = ndcg10 * 1.5};
}

START_TEST(publishes_only_when_not_worse_on_the_same_users) {
    sr_eval_metrics better = figures(50, 0.31), same = figures(50, 0.30), worse = figures(50, 0.2999),
                    serving = figures(50, 0.30);
    ck_assert(sr_continuous_decide(&better, &serving).publish);
    ck_assert(sr_continuous_decide(&same, &serving).publish);
    sr_continuous_decision d = sr_continuous_decide(&worse, &serving);
    ck_assert(!d.publish);
    ck_assert_str_eq(d.reason, "candidate worse on the hold-out");

    sr_eval_metrics none = figures(0, 0), none_serving = figures(0, 0);
    d = sr_continuous_decide(&none, &none_serving);
    ck_assert(!d.publish);
    ck_assert_str_eq(d.reason, "no hold-out users");

    sr_eval_metrics other_users = figures(49, 0.9);
    ck_assert(!sr_continuous_decide(&other_users, &serving).publish);

    sr_eval_metrics nan_candidate = figures(50, NAN), nan_serving = figures(50, NAN);
    ck_assert(!sr_continuous_decide(&nan_candidate, &serving).publish);
    ck_assert(!sr_continuous_decide(&better, &nan_serving).publish);
}
END_TEST

/* ---- growing ---- */

/* A model over the given ids, random parameters everywhere (biases too). */
static sr_model *model_over(const int64_t *ids, uint32_t n, int tied, uint64_t seed) {
    sr_model_config c = {.item_count = n, .embed_dim = 4, .hidden_dim = 5, .window = 3,
                         .cell = SR_CELL_GRU, .attention = SR_ATTENTION_ITEMS, .tied_embeddings = tied};
    sr_model *m;
    sr_error err;
    ck_assert_int_eq(sr_model_new(&c, &m, &err), SR_OK);
    sr_model_init_random(m, seed);
    sr_rng rng = {seed + 17};
    fill_random(m->data, m->param_count, 0.5f, &rng);
    ck_assert_int_eq(sr_vocab_build(&m->vocab, ids, n, &err), SR_OK);
    m->version = 41;
    return m;
}

static void check_growth(int tied) {
    static const int64_t old_ids[] = {10, 20, 30};
    static const int64_t new_ids[] = {40, 5, 30, 10};  /* any order: rows are by ascending id */
    sr_model *from = model_over(old_ids, 3, tied, 7);
    sr_vocab vocab;
    sr_error err;
    ck_assert_int_eq(sr_vocab_build(&vocab, new_ids, 4, &err), SR_OK);
    sr_model *grown;
    sr_model_growth g;
    ck_assert_int_eq(sr_model_grow(from, &vocab, 3, &grown, &g, &err), SR_OK);
    ck_assert_uint_eq(g.kept, 2);
    ck_assert_uint_eq(g.added, 2);
    ck_assert_uint_eq(g.dropped, 1);
    ck_assert_uint_eq(grown->config.item_count, 4);
    ck_assert_uint_eq(grown->vocab.count, 4);
    ck_assert_int_eq(grown->version, 41);
    ck_assert_uint_eq(grown->param_count, sr_model_param_count(&grown->config));

    size_t E = from->config.embed_dim;
    /* Everything that does not depend on the items is the same. */
    size_t shared = (size_t)((from->t.out_b + E) - from->t.type_embed);
    ck_assert_mem_eq(grown->t.type_embed, from->t.type_embed, shared * sizeof(float));
    /* Known ids: their rows, wherever they now are. */
    static const int64_t known[] = {10, 30};
    for (int k = 0; k < 2; k++) {
        int32_t r = sr_vocab_row(&grown->vocab, known[k]), o = sr_vocab_row(&from->vocab, known[k]);
        ck_assert_int_ge(r, 0);
        ck_assert_mem_eq(grown->t.item_embed + r * E, from->t.item_embed + o * E, E * sizeof(float));
        ck_assert_mem_eq(grown->t.out_embed + r * E, from->t.out_embed + o * E, E * sizeof(float));
        ck_assert(grown->t.out_bias[r] == from->t.out_bias[o]);
    }
    /* New ids: initialised (finite, not all zero), bias the mean of the old biases. */
    float mean = (from->t.out_bias[0] + from->t.out_bias[1] + from->t.out_bias[2]) / 3.0f;
    static const int64_t added[] = {5, 40};
    for (int k = 0; k < 2; k++) {
        int32_t r = sr_vocab_row(&grown->vocab, added[k]);
        float norm = 0;
        for (size_t i = 0; i < E; i++) {
            ck_assert(isfinite(grown->t.item_embed[r * E + i]));
            ck_assert(isfinite(grown->t.out_embed[r * E + i]));
            norm += fabsf(grown->t.item_embed[r * E + i]) + fabsf(grown->t.out_embed[r * E + i]);
        }
        ck_assert(norm > 0);
        ck_assert_float_eq_tol(grown->t.out_bias[r], mean, 1e-6);
    }
    sr_vocab_free(&vocab);
    sr_model_free(grown);
    sr_model_free(from);
}

START_TEST(grows_copying_rows_by_id_tied) { check_growth(1); }
END_TEST

START_TEST(grows_copying_rows_by_id_untied) { check_growth(0); }
END_TEST

/* The user vector and the scores of the known items, for a history of items. */
static void score_history(const sr_model *m, const int64_t *history, size_t n, const int64_t *items,
                          size_t item_count, float *out) {
    sr_error err;
    sr_model_workspace *ws;
    ck_assert_int_eq(sr_model_workspace_new(&m->config, 1, &ws, &err), SR_OK);
    int32_t rows[8];
    uint8_t types[8];
    for (size_t i = 0; i < n; i++) {
        rows[i] = sr_vocab_row(&m->vocab, history[i]);
        types[i] = (uint8_t)(i % SR_EVENT_TYPE_COUNT);
    }
    const int32_t *rp = rows;
    const uint8_t *tp = types;
    float u[4];
    ck_assert_int_eq(sr_model_sequence_user_vectors(m, 1, &rp, &tp, &n, u, ws, &err), SR_OK);
    float *scores = malloc(m->config.item_count * sizeof *scores);
    sr_model_score(m, 1, u, scores);
    for (size_t i = 0; i < item_count; i++) out[i] = scores[sr_vocab_row(&m->vocab, items[i])];
    free(scores);
    sr_model_workspace_free(ws);
}

START_TEST(a_grown_model_scores_known_items_as_before) {
    static const int64_t old_ids[] = {10, 20, 30, 50};
    static const int64_t new_ids[] = {1, 10, 20, 30, 45, 50, 60};
    static const int64_t history[] = {30, 10, 50, 50, 20};
    sr_model *from = model_over(old_ids, 4, 1, 11);
    sr_vocab vocab;
    sr_error err;
    ck_assert_int_eq(sr_vocab_build(&vocab, new_ids, 7, &err), SR_OK);
    sr_model *grown;
    sr_model_growth g;
    ck_assert_int_eq(sr_model_grow(from, &vocab, 5, &grown, &g, &err), SR_OK);
    float before[4], after[4];
    score_history(from, history, 5, old_ids, 4, before);
    score_history(grown, history, 5, old_ids, 4, after);
    for (int i = 0; i < 4; i++) ck_assert_float_eq_tol(after[i], before[i], 1e-5);
    sr_vocab_free(&vocab);
    sr_model_free(grown);
    sr_model_free(from);
}
END_TEST

START_TEST(growing_refuses_a_model_whose_vocabulary_disagrees) {
    static const int64_t ids[] = {1, 2, 3};
    sr_model *from = model_over(ids, 3, 1, 1);
    sr_vocab_free(&from->vocab);  /* now 0 ids for 3 items */
    sr_vocab vocab;
    sr_error err;
    ck_assert_int_eq(sr_vocab_build(&vocab, ids, 3, &err), SR_OK);
    sr_model sentinel;
    sr_model *grown = &sentinel;  /* must be reset */
    sr_model_growth g;
    ck_assert_int_eq(sr_model_grow(from, &vocab, 1, &grown, &g, &err), SR_ERR_INVALID_ARG);
    ck_assert_ptr_null(grown);
    sr_vocab_free(&vocab);
    sr_model_free(from);
}
END_TEST

/* ---- the hold-out ---- */

static sr_user_event event(int64_t user, int64_t item) {
    return (sr_user_event){.user_id = user, .item_id = item, .event_type = SR_EVENT_VIEW};
}

START_TEST(new_users_are_the_distinct_ids_ascending) {
    sr_user_event e[] = {event(5, 1), event(3, 1), event(5, 2), event(9, 1), event(3, 3)};
    int64_t *ids;
    size_t n;
    sr_error err;
    ck_assert_int_eq(sr_continuous_new_users(e, 5, &ids, &n, &err), SR_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(ids[0], 3);
    ck_assert_int_eq(ids[1], 5);
    ck_assert_int_eq(ids[2], 9);
    free(ids);
    ck_assert_int_eq(sr_continuous_new_users(e, 0, &ids, &n, &err), SR_OK);
    ck_assert_ptr_null(ids);
    ck_assert_uint_eq(n, 0);
}
END_TEST

/* A scorer that scores one item id per user (by user id) 1 and the rest 0,
 * and records the history lengths it was given. */
struct pick_scorer {
    const sr_dataset *data;
    int64_t pick[8];           /* by user id */
    size_t length[8];          /* by user id */
};

static sr_status pick_score(void *context, size_t batch, const sr_eval_query *q, float *scores,
                            sr_error *err) {
    (void)err;
    struct pick_scorer *p = context;
    uint32_t V = p->data->vocab.count;
    for (size_t b = 0; b < batch; b++) {
        for (uint32_t r = 0; r < V; r++) scores[b * V + r] = 0;
        scores[b * V + (size_t)sr_vocab_row(&p->data->vocab, p->pick[q[b].user_id])] = 1;
        p->length[q[b].user_id] = q[b].length;
    }
    return SR_OK;
}

START_TEST(the_holdout_is_each_new_users_last_event) {
    /* Round k-1 read the first 12 events; 5 arrived since (users 1, 3, 4). */
    sr_user_event e[] = {
        event(1, 11), event(2, 21), event(1, 12), event(2, 22), event(1, 13), event(4, 41),
        event(2, 23), event(1, 14), event(4, 42), event(2, 24), event(3, 31), event(4, 43),
        /* new: */ event(1, 15), event(3, 32), event(1, 16), event(4, 44), event(4, 45),
    };
    size_t count = sizeof e / sizeof e[0], previous = 12;
    sr_dataset data, holdout;
    sr_error err;
    ck_assert_int_eq(sr_dataset_from_events(e, count, &data, &err), SR_OK);
    int64_t *users;
    size_t n;
    ck_assert_int_eq(sr_continuous_new_users(e + previous, count - previous, &users, &n, &err), SR_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(sr_continuous_holdout(&data, users, n, &holdout, &err), SR_OK);

    /* Users 1, 3 and 4, whole sequences, the same catalogue and rows. */
    ck_assert_uint_eq(holdout.user_count, 3);
    ck_assert_int_eq(holdout.user_ids[0], 1);
    ck_assert_int_eq(holdout.user_ids[1], 3);
    ck_assert_int_eq(holdout.user_ids[2], 4);
    ck_assert_uint_eq(holdout.event_count, 6 + 2 + 5);
    ck_assert_uint_eq(holdout.vocab.count, data.vocab.count);
    ck_assert_mem_eq(holdout.vocab.ids, data.vocab.ids, data.vocab.count * sizeof(int64_t));
    ck_assert_mem_eq(holdout.rows, data.rows, 6 * sizeof(int32_t));  /* user 1 comes first in both */

    /* The last event of users 1 and 4 is the target; user 3 (2 events) is not
     * evaluated; the whole earlier sequence is the history. */
    struct pick_scorer p = {.data = &holdout};
    p.pick[1] = 16;
    p.pick[4] = 45;
    sr_eval_options options;
    sr_eval_options_init(&options);
    sr_eval_metrics m;
    ck_assert_int_eq(sr_eval_run(&holdout, &options, pick_score, &p, &m, &err), SR_OK);
    ck_assert_uint_eq(m.users, 2);
    ck_assert(m.hr1 == 1.0);
    ck_assert_uint_eq(p.length[1], 5);
    ck_assert_uint_eq(p.length[4], 4);
    ck_assert_uint_eq(p.length[3], 0);

    /* Neither a training event nor the validation target of the candidate's data. */
    for (size_t u = 0; u < data.user_count; u++) {
        if (!sr_dataset_evaluated(&data, u)) continue;
        size_t last = data.offsets[u + 1] - 1;
        ck_assert_uint_le(sr_dataset_train_end(&data, u), last - 1);
    }
    free(users);
    sr_dataset_free(&holdout);
    sr_dataset_free(&data);
}
END_TEST

/* ---- a round ---- */

enum { USERS = 60, ITEMS = 12, FIRST = 8, MORE = 3 };

/* User u walks the cycle of items 100..111 from item u: learnable. */
static int64_t cycle_item(int u, int t) { return 100 + (u + t) % ITEMS; }

static void train_config(sr_train_config *tc, sr_fit_options *fit, uint32_t epochs) {
    sr_train_config_init(tc);
    tc->learning_rate = 0.02f;
    tc->batch_size = 16;
    tc->dropout_input = tc->dropout_output = 0;
    tc->seed = 3;
    sr_fit_options_init(fit);
    fit->max_epochs = epochs;
}

START_TEST(a_round_fine_tunes_a_grown_candidate_and_decides_on_the_holdout) {
    /* The first FIRST events of every user, then MORE for the first half of the
     * users, two of whom meet new items (ids 200 and 201) on the way. */
    sr_user_event *e = malloc((USERS * FIRST + USERS / 2 * MORE) * sizeof *e);
    size_t count = 0;
    for (int t = 0; t < FIRST; t++)
        for (int u = 0; u < USERS; u++) e[count++] = event(u + 1, cycle_item(u, t));
    size_t previous = count;
    for (int t = FIRST; t < FIRST + MORE; t++)
        for (int u = 0; u < USERS / 2; u++)
            e[count++] = event(u + 1, u < 2 && t == FIRST ? 200 + u : cycle_item(u, t));

    sr_error err;
    sr_dataset first, now;
    ck_assert_int_eq(sr_dataset_from_events(e, previous, &first, &err), SR_OK);
    ck_assert_int_eq(sr_dataset_from_events(e, count, &now, &err), SR_OK);
    sr_model_config mc = {.item_count = first.vocab.count, .embed_dim = 8, .hidden_dim = 8, .window = 3,
                          .cell = SR_CELL_GRU, .attention = SR_ATTENTION_ITEMS, .tied_embeddings = 1};
    sr_model *serving;
    ck_assert_int_eq(sr_model_new(&mc, &serving, &err), SR_OK);
    sr_model_init_random(serving, 1);
    ck_assert_int_eq(sr_vocab_build(&serving->vocab, first.vocab.ids, first.vocab.count, &err), SR_OK);
    sr_train_config tc;
    sr_fit_options fit;
    sr_fit_result result;
    train_config(&tc, &fit, 3);
    ck_assert_int_eq(sr_fit(serving, &first, &tc, &fit, &result, &err), SR_OK);
    serving->version = 7;
    float *before = malloc(serving->param_count * sizeof *before);
    memcpy(before, serving->data, serving->param_count * sizeof *before);

    int64_t *users;
    size_t n;
    ck_assert_int_eq(sr_continuous_new_users(e + previous, count - previous, &users, &n, &err), SR_OK);
    ck_assert_uint_eq(n, USERS / 2);
    sr_model *candidate;
    sr_continuous_round round;
    train_config(&tc, &fit, 2);
    ck_assert_int_eq(sr_continuous_run_round(serving, &now, users, n, &tc, &fit, &candidate, &round, &err),
                     SR_OK);
    ck_assert_ptr_nonnull(candidate);
    ck_assert(round.trained);
    ck_assert_uint_eq(round.holdout_users, USERS / 2);
    ck_assert_uint_eq(round.candidate.users, USERS / 2);
    ck_assert_uint_eq(round.serving.users, USERS / 2);
    ck_assert_uint_eq(round.growth.added, 2);
    ck_assert_uint_eq(round.growth.kept, ITEMS);
    ck_assert_uint_eq(candidate->config.item_count, ITEMS + 2);
    ck_assert_uint_ge(round.fit.best_epoch, 1);
    ck_assert_uint_le(round.fit.epochs, 2);
    ck_assert(isfinite(round.candidate.ndcg10) && isfinite(round.serving.ndcg10));
    ck_assert(round.decision.publish == (round.candidate.ndcg10 >= round.serving.ndcg10));
    /* The serving model is untouched. */
    ck_assert_mem_eq(serving->data, before, serving->param_count * sizeof *before);
    ck_assert_uint_eq(serving->config.item_count, ITEMS);
    /* The figures are the ones sr_continuous_evaluate gives on the hold-out. */
    sr_dataset holdout;
    ck_assert_int_eq(sr_continuous_holdout(&now, users, n, &holdout, &err), SR_OK);
    sr_eval_metrics again;
    ck_assert_int_eq(sr_continuous_evaluate(serving, &holdout, &again, &err), SR_OK);
    ck_assert(again.ndcg10 == round.serving.ndcg10);
    ck_assert_int_eq(sr_continuous_evaluate(candidate, &holdout, &again, &err), SR_OK);
    ck_assert(again.ndcg10 == round.candidate.ndcg10);
    sr_dataset_free(&holdout);
    sr_model_free(candidate);
    free(users);

    /* Only a user with fewer than 3 events is new: nothing to judge by, nothing trained. */
    int64_t lone = USERS + 1;
    ck_assert_int_eq(sr_continuous_run_round(serving, &now, &lone, 1, &tc, &fit, &candidate, &round, &err),
                     SR_OK);
    ck_assert_ptr_null(candidate);
    ck_assert(!round.trained);
    ck_assert(!round.decision.publish);
    ck_assert_uint_eq(round.holdout_users, 0);

    free(before);
    sr_model_free(serving);
    sr_dataset_free(&now);
    sr_dataset_free(&first);
    free(e);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("continuous");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, a_round_is_due_on_either_trigger_and_never_without_events);
    tcase_add_test(tc, publishes_only_when_not_worse_on_the_same_users);
    tcase_add_test(tc, grows_copying_rows_by_id_tied);
    tcase_add_test(tc, grows_copying_rows_by_id_untied);
    tcase_add_test(tc, a_grown_model_scores_known_items_as_before);
    tcase_add_test(tc, growing_refuses_a_model_whose_vocabulary_disagrees);
    tcase_add_test(tc, new_users_are_the_distinct_ids_ascending);
    tcase_add_test(tc, the_holdout_is_each_new_users_last_event);
    tcase_add_test(tc, a_round_fine_tunes_a_grown_candidate_and_decides_on_the_holdout);
    suite_add_tcase(s, tc);
    return s;
}
