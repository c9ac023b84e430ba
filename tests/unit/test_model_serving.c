/* test_model_serving.c — the serving path against plain references: the fast
 * gates against libm, the batched step and user vectors against the one-user
 * naive loops, scoring against a dot product per item, top-N against a full
 * sort, sequence user vectors against event-by-event stepping; the model's
 * configuration checks and parameter layout. */
#include "test_model_util.h"
#include "test_suite.h"

/* The larger error, where a NaN error is infinitely large (fmax would drop it). */
static double max_error(double worst, double error) {
    return isnan(error) ? INFINITY : (error > worst ? error : worst);
}

START_TEST(gates_match_libm) {
    enum { n = 2000001 };
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) x[i] = -40.0f + 80.0f * (float)i / (float)(n - 1);
    double es = 0, et = 0, ee = 0;
    sr_sigmoid_fast(y, x, n);
    for (size_t i = 0; i < n; i++) es = max_error(es, fabs(y[i] - 1.0 / (1.0 + exp(-(double)x[i]))));
    sr_tanh_fast(y, x, n);
    for (size_t i = 0; i < n; i++) et = max_error(et, fabs(y[i] - tanh((double)x[i])));
    /* near zero, where tanh's formula switches, densely */
    for (size_t i = 0; i < n; i++) x[i] = -0.2f + 0.4f * (float)i / (float)(n - 1);
    sr_tanh_fast(y, x, n);
    for (size_t i = 0; i < n; i++) et = max_error(et, fabs(y[i] - tanh((double)x[i])));
    sr_sigmoid_fast(y, x, n);
    for (size_t i = 0; i < n; i++) es = max_error(es, fabs(y[i] - 1.0 / (1.0 + exp(-(double)x[i]))));
    for (size_t i = 0; i < n; i++) x[i] = -80.0f + 160.0f * (float)i / (float)(n - 1);
    sr_exp_fast(y, x, n);
    for (size_t i = 0; i < n; i++) ee = max_error(ee, fabs(y[i] / exp((double)x[i]) - 1.0));
    fprintf(stderr, "gates: max abs error sigmoid %.3g tanh %.3g, exp max rel error %.3g\n", es, et, ee);
    ck_assert_double_le(es, 1e-6);
    ck_assert_double_le(et, 1e-6);
    ck_assert_double_le(ee, 1e-6);
    /* extremes saturate without inf or NaN; y may alias x */
    float ext[6] = {-INFINITY, -1e30f, -100.0f, 100.0f, 1e30f, INFINITY};
    sr_sigmoid_fast(ext, ext, 6);
    ck_assert_float_eq_tol(ext[0], 0.0f, 1e-30f);
    ck_assert_float_eq_tol(ext[2], 0.0f, 1e-30f);
    ck_assert_float_eq(ext[5], 1.0f);
    float ext2[4] = {-INFINITY, -100.0f, 100.0f, INFINITY};
    sr_tanh_fast(ext2, ext2, 4);
    ck_assert_float_eq_tol(ext2[0], -1.0f, 1e-7f);
    ck_assert_float_eq_tol(ext2[3], 1.0f, 1e-7f);
    free(x), free(y);
}
END_TEST

/* Users' states in one block, as a store would hold them. */
typedef struct {
    size_t users, F, T;
    float *hidden;
    int32_t *rows;
    uint8_t *types;
    sr_user_state_view *views;
    sr_user_state_view **ptrs;
} state_block;

static void states_new(state_block *s, const sr_model_config *c, size_t users) {
    s->users = users;
    s->F = sr_model_state_floats(c);
    s->T = c->window;
    s->hidden = calloc(users * s->F, sizeof(float));
    s->rows = calloc(users * s->T, sizeof(int32_t));
    s->types = calloc(users * s->T, 1);
    s->views = calloc(users, sizeof *s->views);
    s->ptrs = calloc(users, sizeof *s->ptrs);
    for (size_t u = 0; u < users; u++) {
        s->views[u] = (sr_user_state_view){.hidden = s->hidden + u * s->F, .recent_rows = s->rows + u * s->T,
                                           .recent_types = s->types + u * s->T};
        s->ptrs[u] = &s->views[u];
    }
}

static void states_free(state_block *s) {
    free(s->hidden), free(s->rows), free(s->types), free(s->views), free(s->ptrs);
}

static sr_model *random_model(const sr_model_config *c, uint64_t seed) {
    sr_model *m;
    sr_error err;
    ck_assert_int_eq(sr_model_new(c, &m, &err), SR_OK);
    sr_model_init_random(m, seed);
    sr_rng rng = {seed};
    for (size_t i = 0; i < m->param_count; i++) m->data[i] += 0.2f * (2.0f * sr_rng_float(&rng) - 1.0f);
    return m;
}

START_TEST(step_and_user_vectors_match_reference) {
    static const sr_attention_kind kinds[] = {SR_ATTENTION_NONE, SR_ATTENTION_ITEMS, SR_ATTENTION_HIDDEN};
    /* k < 6: the step's input GEMM and OpenBLAS h side; 6..11: the same models
     * with the step table; 12..17: H = 32, the step table and (on AVX-512) the
     * in-place h side of gemm_rows.c; 18..23: the same in bf16x3 (on AMX) */
    for (int k = 0; k < 24; k++) {
        size_t H = k < 12 ? 24 : 32;
        sr_model_config c = {.item_count = 50, .embed_dim = 16, .hidden_dim = (uint32_t)H,
                             .window = 5, .cell = k & 1 ? SR_CELL_ELMAN : SR_CELL_GRU,
                             .attention = kinds[k % 6 / 2], .tied_embeddings = k % 6 / 2 == 1};
        sr_model *m = random_model(&c, 10 + (uint64_t)(k % 6));
        sr_error err;
        size_t table_bytes = 50 * sr_model_gate_count(&c) * H * sizeof(float);
        if (k < 6) {
            /* one byte short: no table (nor a packed U, for H = 24) */
            ck_assert_int_eq(sr_model_prepare_step_table(m, table_bytes - 1, SR_STEP_FP32, &err), SR_OK);
            ck_assert_ptr_null(m->step_item_table);
            ck_assert_ptr_null(m->step_u_t);
        } else {
            sr_step_precision precision = k < 18 ? SR_STEP_FP32 : SR_STEP_BF16X3;
            ck_assert_int_eq(sr_model_prepare_step_table(m, table_bytes, precision, &err), SR_OK);
            ck_assert_ptr_nonnull(m->step_item_table);
            ck_assert(k < 12 ? m->step_u_t == NULL : (m->step_u_t != NULL) == gemm_rows_usable(H));
            bool bf16 = k >= 18 && m->step_u_t && gemm_amx_usable(H, H);
            ck_assert((m->step_u_bf16 != NULL) == bf16);
            ck_assert_int_eq(sr_model_step_precision(m), bf16 ? SR_STEP_BF16X3 : SR_STEP_FP32);
        }
        enum { users = 37, steps = 12 };
        state_block fast, ref;
        states_new(&fast, &c, users);
        states_new(&ref, &c, users);
        sr_model_workspace *ws;
        ck_assert_int_eq(sr_model_workspace_new(&c, users, &ws, &err), SR_OK);
        sr_rng rng = {5};
        int32_t rows[users];
        uint8_t types[users];
        float u_fast[users * 16], u_ref[16];
        double worst = 0;
        for (int s = 0; s < steps; s++) {
            /* a varying subset of users steps each time */
            size_t n = 0;
            sr_user_state_view *batch[users];
            for (size_t u = 0; u < users; u++) {
                if (sr_rng_below(&rng, 3) == 0) continue;
                rows[n] = (int32_t)sr_rng_below(&rng, 50);
                types[n] = (uint8_t)sr_rng_below(&rng, SR_EVENT_TYPE_COUNT);
                sr_model_step_reference(m, rows[n], types[n], ref.ptrs[u]);
                batch[n++] = fast.ptrs[u];
            }
            sr_model_step_batch(m, n, rows, types, batch, ws);
            sr_model_user_vectors(m, users, fast.ptrs, u_fast, ws);
            for (size_t u = 0; u < users; u++) {
                ck_assert_uint_eq(fast.views[u].recent_count, ref.views[u].recent_count);
                ck_assert_uint_eq(fast.views[u].recent_head, ref.views[u].recent_head);
                for (size_t i = 0; i < fast.F; i++)
                    worst = max_error(worst, fabs(fast.views[u].hidden[i] - ref.views[u].hidden[i]));
                sr_model_user_vector_reference(m, ref.ptrs[u], u_ref);
                for (size_t e = 0; e < 16; e++) worst = max_error(worst, fabs(u_fast[u * 16 + e] - u_ref[e]));
            }
        }
        if (k >= 18) fprintf(stderr, "step bf16x3 (AMX %d): max error %.2e\n", m->step_u_bf16 != NULL, worst);
        ck_assert_double_le(worst, k < 18 ? 2e-5 : 3e-5);
        sr_model_workspace_free(ws);
        states_free(&fast), states_free(&ref);
        sr_model_free(m);
    }
}
END_TEST

/* The in-place kernel against plain loops, over shapes that leave every
 * remainder (rows not a multiple of 4, columns not of 64). */
START_TEST(gemm_rows_matches_loops) {
    if (!gemm_rows_usable(16)) {
        fprintf(stderr, "test_model_serving: no AVX-512 here: gemm_rows runs its plain loop\n");
    }
    static const size_t shapes[][3] = {{1, 8, 16}, {3, 64, 64}, {4, 64, 128}, {7, 24, 48},
                                       {256, 64, 128}, {257, 64, 64}, {9, 5, 80}};
    sr_rng rng = {3};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t B = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
        size_t ldc = N + 16, ldw = N + 32;
        float *a = malloc(B * K * sizeof *a), *w = malloc(K * ldw * sizeof *w);
        float *c = malloc(B * ldc * sizeof *c), *ref = malloc(B * ldc * sizeof *ref);
        const float **rows = malloc(B * sizeof *rows);
        for (size_t i = 0; i < B * K; i++) a[i] = 2.0f * sr_rng_float(&rng) - 1.0f;
        for (size_t i = 0; i < K * ldw; i++) w[i] = 2.0f * sr_rng_float(&rng) - 1.0f;
        for (size_t i = 0; i < B * ldc; i++) c[i] = ref[i] = 2.0f * sr_rng_float(&rng) - 1.0f;
        for (size_t b = 0; b < B; b++) rows[b] = a + (B - 1 - b) * K; /* rows anywhere */
        gemm_rows(c, ldc, rows, w, ldw, B, K, N);
        for (size_t b = 0; b < B; b++)
            for (size_t n = 0; n < N; n++) {
                double sum = ref[b * ldc + n];
                for (size_t k = 0; k < K; k++) sum += (double)rows[b][k] * w[k * ldw + n];
                ck_assert_double_le(fabs(c[b * ldc + n] - sum), 1e-4);
            }
        for (size_t b = 0; b < B; b++) /* the columns past N are not written */
            for (size_t n = N; n < ldc; n++) ck_assert_float_eq(c[b * ldc + n], ref[b * ldc + n]);
        free(a), free(w), free(c), free(ref), free(rows);
    }
}
END_TEST

/* The AMX kernel and its plain fallback against double sums, within the
 * split-bf16 bound relative to the sum of |terms|; rows past 16 and not a
 * multiple of it; a column slice (n0) of a wider W, as the GRU's two products
 * take; and the columns past N untouched. */
START_TEST(gemm_rows_amx_matches_loops) {
    bool amx = gemm_amx_usable(64, 64);
    if (!amx) fprintf(stderr, "test_model_serving: no AMX here: only the plain bf16 loop runs\n");
    static const size_t shapes[][4] = {/* B, K, N, n0 */ {1, 64, 64, 0},   {17, 64, 128, 0},
                                       {256, 64, 64, 128}, {33, 32, 32, 32}, {5, 96, 64, 64}};
    sr_rng rng = {5};
    for (int kernel = 0; kernel < 2; kernel++) {
        if (kernel == 0 && !amx) continue;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            size_t B = shapes[s][0], K = shapes[s][1], N = shapes[s][2], n0 = shapes[s][3];
            size_t ldw = n0 + N + 32, ldc = N + 16;
            float *a = malloc(B * K * sizeof *a), *w = malloc(K * ldw * sizeof *w);
            float *c = malloc(B * ldc * sizeof *c), *ref = malloc(B * ldc * sizeof *ref);
            const float **rows = malloc(B * sizeof *rows);
            uint16_t *scratch = malloc(32 * K * sizeof *scratch);
            for (size_t i = 0; i < B * K; i++) a[i] = 2.0f * sr_rng_float(&rng) - 1.0f;
            for (size_t i = 0; i < K * ldw; i++) w[i] = 2.0f * sr_rng_float(&rng) - 1.0f;
            for (size_t i = 0; i < B * ldc; i++) c[i] = ref[i] = 2.0f * sr_rng_float(&rng) - 1.0f;
            for (size_t b = 0; b < B; b++) rows[b] = a + (B - 1 - b) * K;
            gemm_amx_weights packed;
            sr_error err;
            ck_assert_int_eq(gemm_amx_pack(&packed, w, ldw, K, n0 + N, &err), SR_OK);
            if (kernel == 0)
                gemm_rows_amx(c, ldc, rows, &packed, n0, B, N, scratch);
            else
                gemm_rows_bf16_plain(c, ldc, rows, &packed, n0, B, N);
            double worst = 0;
            for (size_t b = 0; b < B; b++)
                for (size_t n = 0; n < N; n++) {
                    double sum = ref[b * ldc + n], magnitude = fabs(sum);
                    for (size_t k = 0; k < K; k++) {
                        double term = (double)rows[b][k] * w[k * ldw + n0 + n];
                        sum += term, magnitude += fabs(term);
                    }
                    worst = max_error(worst, fabs(c[b * ldc + n] - sum) / magnitude);
                }
            ck_assert_double_le(worst, 2e-5);
            for (size_t b = 0; b < B; b++)
                for (size_t n = N; n < ldc; n++) ck_assert_float_eq(c[b * ldc + n], ref[b * ldc + n]);
            gemm_amx_free(&packed);
            free(a), free(w), free(c), free(ref), free(rows), free(scratch);
        }
    }
}
END_TEST

START_TEST(score_is_dot_plus_bias) {
    sr_model_config c = {.item_count = 300, .embed_dim = 8, .hidden_dim = 8, .window = 2};
    for (int tied = 0; tied < 2; tied++) {
        c.tied_embeddings = tied;
        sr_model *m = random_model(&c, 3);
        if (tied) ck_assert_ptr_eq(m->t.out_embed, m->t.item_embed);
        float u[3 * 8], scores[3 * 300];
        sr_rng rng = {4};
        fill_random(u, 24, 1.0f, &rng);
        sr_model_score(m, 3, u, scores);
        for (size_t b = 0; b < 3; b++)
            for (size_t i = 0; i < 300; i++) {
                double s = m->t.out_bias[i];
                for (size_t e = 0; e < 8; e++) s += (double)u[b * 8 + e] * m->t.out_embed[i * 8 + e];
                ck_assert_double_eq_tol(scores[b * 300 + i], s, 1e-5);
            }
        sr_model_free(m);
    }
}
END_TEST

static int ref_before(const sr_scored_row *a, const sr_scored_row *b) {
    if (isnan(a->score) != isnan(b->score)) return isnan(b->score);
    if (!isnan(a->score) && a->score != b->score) return a->score > b->score;
    return a->row < b->row;
}

static int cmp_ref(const void *pa, const void *pb) {
    const sr_scored_row *a = pa, *b = pb;
    return ref_before(a, b) ? -1 : ref_before(b, a) ? 1 : 0;
}

START_TEST(topn_matches_full_sort) {
    sr_rng rng = {77};
    for (int trial = 0; trial < 300; trial++) {
        /* every third: catalogues where sr_topn skips most blocks of 32 */
        uint32_t V = 1 + (uint32_t)sr_rng_below(&rng, trial % 3 ? 400 : 5000);
        float *scores = malloc(V * sizeof *scores);
        for (uint32_t i = 0; i < V; i++) {
            /* few distinct values for ties; a NaN now and then */
            scores[i] = (float)sr_rng_below(&rng, trial % 2 ? 10 : 1000000) / 7.0f;
            if (sr_rng_below(&rng, 50) == 0) scores[i] = NAN;
        }
        size_t nx = sr_rng_below(&rng, 20);
        int32_t exclude[20];
        for (size_t i = 0; i < nx; i++) exclude[i] = (int32_t)sr_rng_below(&rng, V + 3);  /* some out of range */
        size_t n = 1 + sr_rng_below(&rng, 60);
        sr_scored_row *out = malloc(n * sizeof *out), *all = malloc(V * sizeof *all);
        size_t m = 0;
        for (uint32_t i = 0; i < V; i++) {
            int ex = 0;
            for (size_t j = 0; j < nx; j++) ex |= exclude[j] == (int32_t)i;
            if (!ex) all[m++] = (sr_scored_row){(int32_t)i, scores[i]};
        }
        qsort(all, m, sizeof *all, cmp_ref);
        size_t got = sr_topn(scores, V, exclude, nx, n, out);
        ck_assert_uint_eq(got, m < n ? m : n);
        for (size_t i = 0; i < got; i++) ck_assert_int_eq(out[i].row, all[i].row);
        free(scores), free(out), free(all);
    }
    float s[3] = {1, 2, 3};
    sr_scored_row o[1];
    ck_assert_uint_eq(sr_topn(s, 3, NULL, 0, 0, o), 0);
}
END_TEST

START_TEST(sequence_user_vectors_match_stepping) {
    static const sr_attention_kind kinds[] = {SR_ATTENTION_NONE, SR_ATTENTION_ITEMS, SR_ATTENTION_HIDDEN};
    for (int k = 0; k < 3; k++) {
        sr_model_config c = {.item_count = 40, .embed_dim = 12, .hidden_dim = 10, .window = 4,
                             .cell = SR_CELL_GRU, .attention = kinds[k]};
        sr_model *m = random_model(&c, 21);
        enum { users = 20 };
        int32_t rows[users][15];
        uint8_t types[users][15];
        const int32_t *rp[users];
        const uint8_t *tp[users];
        size_t lengths[users];
        sr_rng rng = {8};
        for (size_t u = 0; u < users; u++) {
            lengths[u] = sr_rng_below(&rng, 16);
            for (size_t i = 0; i < 15; i++) {
                rows[u][i] = (int32_t)sr_rng_below(&rng, 40);
                types[u][i] = (uint8_t)sr_rng_below(&rng, 4);
            }
            rp[u] = rows[u];
            tp[u] = types[u];
        }
        sr_model_workspace *ws;
        sr_error err;
        ck_assert_int_eq(sr_model_workspace_new(&c, 6, &ws, &err), SR_OK);   /* smaller than the batch */
        float u_seq[users * 12], u_one[12];
        ck_assert_int_eq(sr_model_sequence_user_vectors(m, users, rp, tp, lengths, u_seq, ws, &err), SR_OK);
        state_block st;
        states_new(&st, &c, 1);
        for (size_t u = 0; u < users; u++) {
            memset(st.hidden, 0, st.F * sizeof(float));
            st.views[0].recent_count = st.views[0].recent_head = 0;
            for (size_t i = 0; i < lengths[u]; i++)
                sr_model_step_batch(m, 1, &rows[u][i], &types[u][i], st.ptrs, ws);
            sr_model_user_vectors(m, 1, st.ptrs, u_one, ws);
            for (size_t e = 0; e < 12; e++) ck_assert_float_eq_tol(u_seq[u * 12 + e], u_one[e], 1e-5f);
        }
        states_free(&st);
        int32_t bad = 40;
        const int32_t *bp = &bad;
        size_t one = 1;
        ck_assert_int_eq(sr_model_sequence_user_vectors(m, 1, &bp, NULL, &one, u_seq, ws, &err), SR_ERR_INVALID_ARG);
        sr_model_workspace_free(ws);
        sr_model_free(m);
    }
}
END_TEST

START_TEST(config_and_layout) {
    sr_model_config c = {.item_count = 10, .embed_dim = 4, .hidden_dim = 3, .window = 2,
                         .attention = SR_ATTENTION_HIDDEN};
    sr_error err;
    ck_assert_int_eq(sr_model_config_check(&c, &err), SR_OK);
    /* every tensor inside the block, in order, without overlap */
    size_t n = sr_model_param_count(&c);
    ck_assert_uint_eq(n, 10 * 4 + 4 * 4 + 9 * 4 + 9 * 3 + 9 + 3 * 3 + 4 * 6 + 4 + 10 * 4 + 10);
    float *block = calloc(n, sizeof *block);
    sr_model_tensors t;
    sr_model_tensors_layout(&c, block, &t);
    ck_assert_ptr_eq(t.out_bias + 10, block + n);
    ck_assert_uint_eq(sr_model_state_floats(&c), 3 + 2 * 3);
    free(block);
    c.window = 0;
    ck_assert_int_eq(sr_model_config_check(&c, &err), SR_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.message, "window"));
    c.window = 2;
    c.embed_dim = 0;
    ck_assert_int_eq(sr_model_config_check(&c, &err), SR_ERR_CONFIG);
    c.embed_dim = 4;
    c.cell = (sr_cell_kind)7;
    ck_assert_int_eq(sr_model_config_check(&c, &err), SR_ERR_CONFIG);
    /* init is deterministic */
    c.cell = SR_CELL_GRU;
    sr_model *a, *b;
    ck_assert_int_eq(sr_model_new(&c, &a, &err), SR_OK);
    ck_assert_int_eq(sr_model_new(&c, &b, &err), SR_OK);
    sr_model_init_random(a, 5);
    sr_model_init_random(b, 5);
    ck_assert_int_eq(memcmp(a->data, b->data, n * sizeof(float)), 0);
    sr_model_free(a), sr_model_free(b);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("model_serving");
    TCase *tc = tcase_create("serving");
    tcase_add_test(tc, gates_match_libm);
    tcase_add_test(tc, step_and_user_vectors_match_reference);
    tcase_add_test(tc, gemm_rows_matches_loops);
    tcase_add_test(tc, gemm_rows_amx_matches_loops);
    tcase_add_test(tc, score_is_dot_plus_bias);
    tcase_add_test(tc, topn_matches_full_sort);
    tcase_add_test(tc, sequence_user_vectors_match_stepping);
    tcase_add_test(tc, config_and_layout);
    suite_add_tcase(s, tc);
    return s;
}
