/* test_train.c — the whole model's gradient over a chunk (every parameter,
 * every cell/attention/tying combination, masking, dropout, a carried TBPTT
 * state), chunking, training vs serving forward, determinism, the optimiser,
 * the sampler, and a learning test that cannot pass by accident. */
#include "test_model_util.h"
#include "test_suite.h"
#include "sr_train.h"
#include "train/train_internal.h"

#include <cblas.h>

enum { GB = 3, GSTEPS = 6, GL = 3 };

/* Sequences of 6, 4 and 2 steps, right-padded. */
static const int32_t g_rows[GSTEPS][GB] = {{1, 4, 6}, {2, 0, 3}, {5, 6, -1}, {1, 2, -1}, {3, -1, -1}, {0, -1, -1}};
static const uint8_t g_types[GSTEPS][GB] = {{0, 1, 2}, {3, 0, 1}, {2, 3, 0}, {1, 0, 0}, {0, 0, 0}, {2, 0, 0}};
static const int32_t g_targets[GSTEPS][GB] = {{2, 0, 3}, {5, 6, -1}, {1, 2, -1}, {3, -1, -1}, {0, -1, -1}, {4, -1, -1}};

typedef struct {
    sr_model *model;
    sr_train_config tc;
    train_buffers buf;
    train_carry carry, saved;
    train_chunk chunk;
    int32_t neg[4];
    size_t S;
    float q[7];
    float scale;
} whole_case;

static void carry_copy(train_carry *dst, const train_carry *src, const sr_model_config *mc) {
    size_t H = mc->hidden_dim, W = mc->window - 1;
    memcpy(dst->h, src->h, GB * H * sizeof(float));
    memcpy(dst->hist_rows, src->hist_rows, W * GB * sizeof(int32_t));
    memcpy(dst->hist_valid, src->hist_valid, W * GB);
    memcpy(dst->hist_states, src->hist_states, W * GB * H * sizeof(float));
}

static double whole_loss(void *p) {
    whole_case *w = p;
    carry_copy(&w->carry, &w->saved, &w->model->config);
    size_t count;
    double l = train_chunk_run(&w->buf, &w->carry, w->model, &w->tc, &w->chunk, NULL, 0.0f, w->neg, w->S,
                               w->q, &count, 0);
    return l * w->scale;
}

static void check_whole(sr_cell_kind cell, sr_attention_kind attention, int tied, int sampled) {
    sr_model_config mc = {.item_count = 7, .embed_dim = 4, .hidden_dim = 5, .window = 3, .cell = cell,
                          .attention = attention, .tied_embeddings = tied};
    whole_case w = {.S = sampled ? 4 : 0, .neg = {1, 5, 5, 2}};
    sr_error err;
    ck_assert_int_eq(sr_model_new(&mc, &w.model, &err), SR_OK);
    sr_model_init_random(w.model, 3);
    sr_rng rng = {99};
    for (size_t i = 0; i < w.model->param_count; i++) w.model->data[i] += 0.3f * (2.0f * sr_rng_float(&rng) - 1.0f);
    for (size_t i = 0; i < 7; i++) w.q[i] = (float)(i + 1) / 28.0f;
    sr_train_config_init(&w.tc);
    w.tc.dropout_input = 0.3f;
    w.tc.dropout_output = 0.25f;
    w.tc.loss_block_rows = 2;
    w.tc.negatives = 4;
    w.tc.loss = sampled ? SR_LOSS_SAMPLED_SOFTMAX : SR_LOSS_FULL_SOFTMAX;
    size_t bytes = 0;
    ck_assert_int_eq(train_buffers_init(&w.buf, &mc, &w.tc, GB, GL, &bytes, &err), SR_OK);
    ck_assert_int_eq(train_carry_init(&w.carry, &mc, GB, &bytes, &err), SR_OK);
    ck_assert_int_eq(train_carry_init(&w.saved, &mc, GB, &bytes, &err), SR_OK);
    /* chunk 1 (steps 0..2) forward only, to get a carried state */
    train_carry_reset(&w.carry, &mc, GB);
    train_chunk first = {.B = GB, .L = GL, .rows = &g_rows[0][0], .types = &g_types[0][0],
                         .targets = &g_targets[0][0], .dropout_seed = 5, .train = 1};
    size_t count;
    train_chunk_run(&w.buf, &w.carry, w.model, &w.tc, &first, NULL, 0.0f, w.neg, w.S, w.q, &count, 1);
    carry_copy(&w.saved, &w.carry, &mc);
    /* chunk 2 (steps 3..5): analytic gradient with the carry fixed */
    w.chunk = (train_chunk){.B = GB, .L = GL, .rows = &g_rows[GL][0], .types = &g_types[GL][0],
                            .targets = &g_targets[GL][0], .dropout_seed = 6, .train = 1};
    float *grad = calloc(w.model->param_count, sizeof *grad);
    train_chunk_run(&w.buf, &w.carry, w.model, &w.tc, &w.chunk, grad, 0.0f, w.neg, w.S, w.q, &count, 0);
    ck_assert_uint_eq(count, 3);
    w.scale = 1.0f / (float)count;
    char name[96];
    snprintf(name, sizeof name, "model %s/%s/%s/%s", cell == SR_CELL_GRU ? "gru" : "elman",
             attention == SR_ATTENTION_NONE ? "none" : attention == SR_ATTENTION_ITEMS ? "items" : "hidden",
             tied ? "tied" : "untied", sampled ? "sampled" : "full");
    double worst = fd_check(name, w.model->data, grad, w.model->param_count, 1, whole_loss, &w, 3e-3f, 2e-3, 3e-2);
    ck_assert_double_le(worst, 1.0);
    /* and the same over the first chunk, from a zero state */
    train_carry_reset(&w.saved, &mc, GB);
    carry_copy(&w.carry, &w.saved, &mc);
    w.chunk = first;
    memset(grad, 0, w.model->param_count * sizeof *grad);
    train_chunk_run(&w.buf, &w.carry, w.model, &w.tc, &w.chunk, grad, 0.0f, w.neg, w.S, w.q, &count, 0);
    w.scale = 1.0f / (float)count;
    ck_assert_double_le(fd_check(name, w.model->data, grad, w.model->param_count, 1, whole_loss, &w, 3e-3f, 2e-3, 3e-2), 1.0);
    free(grad);
    train_buffers_free(&w.buf);
    train_carry_free(&w.carry);
    train_carry_free(&w.saved);
    sr_model_free(w.model);
}

START_TEST(model_gradients) {
    static const sr_attention_kind kinds[] = {SR_ATTENTION_NONE, SR_ATTENTION_ITEMS, SR_ATTENTION_HIDDEN};
    int combo = _i;   /* loop test: 0..23 */
    sr_cell_kind cell = combo & 1 ? SR_CELL_ELMAN : SR_CELL_GRU;
    sr_attention_kind att = kinds[(combo >> 1) % 3];
    int tied = (combo / 6) & 1, sampled = (combo / 12) & 1;
    check_whole(cell, att, tied, sampled);
}
END_TEST

/* Forward values do not depend on how a batch is cut into chunks. */
START_TEST(chunking_keeps_forward) {
    static const sr_attention_kind kinds[] = {SR_ATTENTION_NONE, SR_ATTENTION_ITEMS, SR_ATTENTION_HIDDEN};
    for (int k = 0; k < 3; k++) {
        sr_model_config mc = {.item_count = 7, .embed_dim = 4, .hidden_dim = 5, .window = 3,
                              .cell = SR_CELL_GRU, .attention = kinds[k]};
        sr_model *m;
        sr_error err;
        ck_assert_int_eq(sr_model_new(&mc, &m, &err), SR_OK);
        sr_model_init_random(m, 8);
        sr_train_config tc;
        sr_train_config_init(&tc);
        double totals[3];
        size_t lengths[3] = {1, 2, 6};
        for (int v = 0; v < 3; v++) {
            size_t L = lengths[v], bytes = 0, count;
            train_buffers buf;
            train_carry carry;
            ck_assert_int_eq(train_buffers_init(&buf, &mc, &tc, GB, L, &bytes, &err), SR_OK);
            ck_assert_int_eq(train_carry_init(&carry, &mc, GB, &bytes, &err), SR_OK);
            train_carry_reset(&carry, &mc, GB);
            totals[v] = 0;
            for (size_t t0 = 0; t0 < GSTEPS; t0 += L) {
                train_chunk ch = {.B = GB, .L = L, .rows = &g_rows[t0][0], .types = &g_types[t0][0],
                                  .targets = &g_targets[t0][0]};
                totals[v] += train_chunk_run(&buf, &carry, m, &tc, &ch, NULL, 0.0f, NULL, 0, NULL, &count, 1);
            }
            train_buffers_free(&buf);
            train_carry_free(&carry);
        }
        ck_assert_double_eq_tol(totals[0], totals[2], 1e-4);
        ck_assert_double_eq_tol(totals[1], totals[2], 1e-4);
        sr_model_free(m);
    }
}
END_TEST

/* Training's forward (no dropout) gives the user vectors serving gives. */
START_TEST(training_forward_matches_serving) {
    static const sr_attention_kind kinds[] = {SR_ATTENTION_NONE, SR_ATTENTION_ITEMS, SR_ATTENTION_HIDDEN};
    for (int k = 0; k < 6; k++) {
        sr_model_config mc = {.item_count = 7, .embed_dim = 4, .hidden_dim = 5, .window = 3,
                              .cell = k & 1 ? SR_CELL_ELMAN : SR_CELL_GRU, .attention = kinds[k / 2]};
        sr_model *m;
        sr_error err;
        ck_assert_int_eq(sr_model_new(&mc, &m, &err), SR_OK);
        sr_model_init_random(m, 9);
        sr_train_config tc;
        sr_train_config_init(&tc);
        size_t bytes = 0, count, L = 2;
        train_buffers buf;
        train_carry carry;
        ck_assert_int_eq(train_buffers_init(&buf, &mc, &tc, GB, L, &bytes, &err), SR_OK);
        ck_assert_int_eq(train_carry_init(&carry, &mc, GB, &bytes, &err), SR_OK);
        train_carry_reset(&carry, &mc, GB);
        sr_model_workspace *ws;
        ck_assert_int_eq(sr_model_workspace_new(&mc, 4, &ws, &err), SR_OK);
        size_t F = sr_model_state_floats(&mc);
        float hidden[GB][64] = {{0}};
        int32_t rr[GB][3];
        uint8_t rt[GB][3];
        sr_user_state_view views[GB];
        for (size_t b = 0; b < GB; b++)
            views[b] = (sr_user_state_view){.hidden = hidden[b], .recent_rows = rr[b], .recent_types = rt[b]};
        ck_assert_uint_le(F, 64);
        for (size_t t0 = 0; t0 < GSTEPS; t0 += L) {
            train_chunk ch = {.B = GB, .L = L, .rows = &g_rows[t0][0], .types = &g_types[t0][0],
                              .targets = &g_targets[t0][0]};
            train_chunk_run(&buf, &carry, m, &tc, &ch, NULL, 0.0f, NULL, 0, NULL, &count, 1);
            for (size_t t = 0; t < L; t++)
                for (size_t b = 0; b < GB; b++) {
                    int32_t row = g_rows[t0 + t][b];
                    if (row < 0) continue;
                    sr_user_state_view *v = &views[b];
                    uint8_t type = g_types[t0 + t][b];
                    sr_model_step_batch(m, 1, &row, &type, &v, ws);
                    float u[4];
                    sr_model_user_vectors(m, 1, &v, u, ws);
                    for (size_t e = 0; e < 4; e++)
                        ck_assert_float_eq_tol(u[e], buf.u[(t * GB + b) * 4 + e], 2e-5f);
                }
        }
        sr_model_workspace_free(ws);
        train_buffers_free(&buf);
        train_carry_free(&carry);
        sr_model_free(m);
    }
}
END_TEST

/* ---- datasets for the epoch-level tests ---- */

/* Users walking a fixed permutation of V items: next = perm(current). */
static sr_model *train_model(const sr_dataset *d, sr_model_config mc, sr_train_config tc, int epochs,
                             sr_epoch_stats *first, sr_epoch_stats *last) {
    sr_model *m;
    sr_trainer *t;
    sr_error err;
    ck_assert_int_eq(sr_model_new(&mc, &m, &err), SR_OK);
    sr_model_init_random(m, tc.seed);
    ck_assert_int_eq(sr_trainer_new(&tc, m, d, &t, &err), SR_OK);
    for (int e = 0; e < epochs; e++) {
        sr_epoch_stats st;
        ck_assert_int_eq(sr_train_epoch(t, m, d, &st, NULL, NULL, &err), SR_OK);
        if (e == 0 && first) *first = st;
        if (last) *last = st;
    }
    sr_trainer_free(t);
    return m;
}

START_TEST(same_seed_same_parameters) {
    openblas_set_num_threads(1);
    sr_dataset d;
    markov_dataset(&d, 200, 30, 4);
    sr_model_config mc = {.item_count = 30, .embed_dim = 8, .hidden_dim = 8, .window = 4,
                          .cell = SR_CELL_GRU, .attention = SR_ATTENTION_ITEMS};
    sr_train_config tc;
    sr_train_config_init(&tc);
    tc.batch_size = 16;
    tc.bptt_length = 5;
    tc.seed = 17;
    for (int sampled = 0; sampled < 2; sampled++) {
        tc.loss = sampled ? SR_LOSS_SAMPLED_SOFTMAX : SR_LOSS_FULL_SOFTMAX;
        tc.negatives = 10;
        sr_model *a = train_model(&d, mc, tc, 1, NULL, NULL);
        sr_model *b = train_model(&d, mc, tc, 1, NULL, NULL);
        ck_assert_int_eq(memcmp(a->data, b->data, a->param_count * sizeof(float)), 0);
        tc.seed = 18;
        sr_model *c = train_model(&d, mc, tc, 1, NULL, NULL);
        ck_assert_int_ne(memcmp(a->data, c->data, a->param_count * sizeof(float)), 0);
        tc.seed = 17;
        sr_model_free(a), sr_model_free(b), sr_model_free(c);
    }
    dataset_by_hand_free(&d);
}
END_TEST

/* HR@1 on the validation targets (never a training target). */
static double validation_hr1(const sr_model *m, const sr_dataset *d) {
    sr_model_workspace *ws;
    sr_error err;
    ck_assert_int_eq(sr_model_workspace_new(&m->config, 64, &ws, &err), SR_OK);
    size_t V = m->config.item_count, E = m->config.embed_dim, hits = 0, n = 0;
    float *u = malloc(E * sizeof *u), *scores = malloc(V * sizeof *scores);
    for (size_t user = 0; user < d->user_count; user++) {
        if (!sr_dataset_evaluated(d, user)) continue;
        const int32_t *rows = d->rows + d->offsets[user];
        size_t len = d->offsets[user + 1] - d->offsets[user] - 2;
        const uint8_t *types = d->types + d->offsets[user];
        ck_assert_int_eq(sr_model_sequence_user_vectors(m, 1, &rows, &types, &len, u, ws, &err), SR_OK);
        sr_model_score(m, 1, u, scores);
        sr_scored_row top;
        ck_assert_uint_eq(sr_topn(scores, (uint32_t)V, NULL, 0, 1, &top), 1);
        hits += top.row == rows[len];
        n++;
    }
    free(u), free(scores);
    sr_model_workspace_free(ws);
    return (double)hits / (double)n;
}

static void check_learns(sr_loss_kind loss, sr_attention_kind attention) {
    sr_dataset d;
    markov_dataset(&d, 400, 50, 5);
    sr_model_config mc = {.item_count = 50, .embed_dim = 16, .hidden_dim = 16, .window = 4,
                          .cell = SR_CELL_GRU, .attention = attention};
    sr_train_config tc;
    sr_train_config_init(&tc);
    tc.loss = loss;
    tc.negatives = 20;
    tc.batch_size = 32;
    tc.bptt_length = 8;
    tc.learning_rate = 1e-2f;
    tc.dropout_input = tc.dropout_output = 0.0f;
    tc.seed = 3;
    sr_model *m0 = train_model(&d, mc, tc, 0, NULL, NULL);
    double before = validation_hr1(m0, &d);
    sr_epoch_stats first, last;
    sr_model *m = train_model(&d, mc, tc, 15, &first, &last);
    double after = validation_hr1(m, &d);
    fprintf(stderr, "learning %s/%d: loss %.3f -> %.3f, HR@1 %.3f -> %.3f\n",
            loss == SR_LOSS_FULL_SOFTMAX ? "full" : "sampled", (int)attention, first.loss, last.loss,
            before, after);
    ck_assert_double_lt(last.loss, 0.5 * first.loss);
    ck_assert_double_lt(before, 0.2);
    ck_assert_double_gt(after, 0.9);
    sr_model_free(m0), sr_model_free(m);
    dataset_by_hand_free(&d);
}

START_TEST(learns_a_deterministic_sequence) { check_learns(SR_LOSS_FULL_SOFTMAX, SR_ATTENTION_NONE); }
END_TEST
START_TEST(learns_with_item_attention) { check_learns(SR_LOSS_FULL_SOFTMAX, SR_ATTENTION_ITEMS); }
END_TEST
START_TEST(learns_with_hidden_attention_sampled) { check_learns(SR_LOSS_SAMPLED_SOFTMAX, SR_ATTENTION_HIDDEN); }
END_TEST

/* ---- optimiser and sampler ---- */

START_TEST(adam_matches_scalar_formula) {
    float p[2] = {1.0f, -2.0f}, m[2] = {0}, v[2] = {0};
    float g1[2] = {0.5f, -1.0f}, g2[2] = {0.05f, 0.15f};
    adam_update(p, g1, m, v, 2, 1.0f, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 1);
    ck_assert(g1[0] == 0.0f && g1[1] == 0.0f);  /* left zeroed for the next step */
    /* step 1: mhat = g, vhat = g^2, so p -= lr * sign(g) */
    ck_assert_float_eq_tol(p[0], 0.9f, 1e-6f);
    ck_assert_float_eq_tol(p[1], -1.9f, 1e-6f);
    adam_update(p, g2, m, v, 2, 2.0f, 0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 2);  /* g = 2 x g2 */
    double m0 = 0.9 * 0.05 + 0.1 * 0.1, v0 = 0.999 * 0.00025 + 0.001 * 0.01;
    double expect = 0.9 * (1 - 0.1 * 0.01) - 0.1 * (m0 / (1 - 0.81)) / (sqrt(v0 / (1 - 0.999 * 0.999)) + 1e-8);
    ck_assert_double_eq_tol(p[0], expect, 1e-5);
    float g[3] = {3, 4, 0};
    ck_assert_double_eq_tol(grad_norm(g, 3), 5.0, 1e-12);
    float many[37];
    for (int i = 0; i < 37; i++) many[i] = (float)(i % 5) - 2.0f;  /* lanes and tail */
    double squares = 0;
    for (int i = 0; i < 37; i++) squares += (double)many[i] * many[i];
    ck_assert_double_eq_tol(grad_norm(many, 37), sqrt(squares), 1e-12);
}
END_TEST

START_TEST(alias_sampler_follows_distribution) {
    uint32_t counts[5] = {0, 10, 100, 3, 40};
    sr_alias_table t;
    sr_error err;
    ck_assert_int_eq(sr_alias_build(&t, counts, 5, 0.75, &err), SR_OK);
    double sum = 0;
    for (int i = 0; i < 5; i++) sum += pow(counts[i] + 1.0, 0.75);
    size_t hist[5] = {0};
    sr_rng rng = {1};
    enum { n = 400000 };
    for (int i = 0; i < n; i++) hist[sr_alias_sample(&t, &rng)]++;
    for (int i = 0; i < 5; i++) {
        double p = pow(counts[i] + 1.0, 0.75) / sum;
        ck_assert_double_eq_tol(t.p[i], p, 1e-6);
        ck_assert_double_eq_tol((double)hist[i] / n, p, 4 * sqrt(p * (1 - p) / n) + 1e-4);
    }
    sr_alias_free(&t);
}
END_TEST

START_TEST(config_is_checked) {
    sr_train_config tc;
    sr_error err;
    sr_train_config_init(&tc);
    ck_assert_int_eq(sr_train_config_check(&tc, &err), SR_OK);
    tc.dropout_input = 1.0f;
    ck_assert_int_eq(sr_train_config_check(&tc, &err), SR_ERR_CONFIG);
    sr_train_config_init(&tc);
    tc.batch_size = 0;
    ck_assert_int_eq(sr_train_config_check(&tc, &err), SR_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.message, "batch_size"));
}
END_TEST

START_TEST(rows_out_of_range_are_refused) {
    size_t lengths[1] = {4};
    int32_t rows[4] = {0, 9, 1, 2};   /* 9 is a training event (0, 9) */
    sr_dataset d;
    dataset_by_hand(&d, 1, lengths, rows, 10);
    sr_model_config mc = {.item_count = 5, .embed_dim = 4, .hidden_dim = 4, .window = 2};
    sr_model *m;
    sr_trainer *t;
    sr_error err;
    ck_assert_int_eq(sr_model_new(&mc, &m, &err), SR_OK);
    sr_train_config tc;
    sr_train_config_init(&tc);
    ck_assert_int_eq(sr_trainer_new(&tc, m, &d, &t, &err), SR_OK);
    ck_assert_int_eq(sr_train_epoch(t, m, &d, NULL, NULL, NULL, &err), SR_ERR_INVALID_ARG);
    sr_trainer_free(t);
    sr_model_free(m);
    dataset_by_hand_free(&d);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("gradients");
    tcase_add_loop_test(tc, model_gradients, 0, 24);
    tcase_add_test(tc, chunking_keeps_forward);
    tcase_add_test(tc, training_forward_matches_serving);
    suite_add_tcase(s, tc);
    TCase *ep = tcase_create("epochs");
    tcase_set_timeout(ep, 240);
    tcase_add_test(ep, same_seed_same_parameters);
    tcase_add_test(ep, learns_a_deterministic_sequence);
    tcase_add_test(ep, learns_with_item_attention);
    tcase_add_test(ep, learns_with_hidden_attention_sampled);
    suite_add_tcase(s, ep);
    TCase *parts = tcase_create("parts");
    tcase_add_test(parts, adam_matches_scalar_formula);
    tcase_add_test(parts, alias_sampler_follows_distribution);
    tcase_add_test(parts, config_is_checked);
    tcase_add_test(parts, rows_out_of_range_are_refused);
    suite_add_tcase(s, parts);
    return s;
}
