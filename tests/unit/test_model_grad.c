/* test_model_grad.c — every layer's backward against central finite
 * differences of its forward (fp32 forward, double accumulation of the test
 * loss sum_i w_i * out_i with random w, so d loss / d out = w). */
#include "test_model_util.h"
#include "test_suite.h"
#include "train/train_internal.h"

#define EPS 3e-3f
#define ABS_TOL 2e-3
#define REL_TOL 2e-2

static double weighted_sum(const float *out, const float *w, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * w[i];
    return s;
}

/* ---- embedding ---- */

typedef struct {
    size_t N, E, V;
    int32_t rows[8];
    uint8_t types[8];
    float item[6 * 4], type[SR_EVENT_TYPE_COUNT * 4], x[8 * 4], w[8 * 4];
} embed_case;

static double embed_loss(void *p) {
    embed_case *c = p;
    embedding_forward(c->x, c->rows, c->types, c->item, c->type, c->N, c->E);
    return weighted_sum(c->x, c->w, c->N * c->E);
}

START_TEST(embedding_gradients) {
    embed_case c = {.N = 8, .E = 4, .V = 6, .rows = {0, 3, -1, 5, 3, 2, -1, 1},
                    .types = {0, 1, 2, 3, 0, 1, 2, 3}};
    sr_rng rng = {1};
    fill_random(c.item, sizeof c.item / 4, 1.0f, &rng);
    fill_random(c.type, sizeof c.type / 4, 1.0f, &rng);
    fill_random(c.w, sizeof c.w / 4, 1.0f, &rng);
    float di[6 * 4] = {0}, dt[SR_EVENT_TYPE_COUNT * 4] = {0};
    embedding_backward(di, dt, c.w, c.rows, c.types, c.N, c.E);
    ck_assert_double_le(fd_check("embedding item", c.item, di, 24, 1, embed_loss, &c, EPS, ABS_TOL, REL_TOL), 1.0);
    ck_assert_double_le(fd_check("embedding type", c.type, dt, 16, 1, embed_loss, &c, EPS, ABS_TOL, REL_TOL), 1.0);
    /* padding rows give zero x */
    embed_loss(&c);
    for (size_t e = 0; e < 4; e++) ck_assert_float_eq(c.x[2 * 4 + e], 0.0f);
}
END_TEST

/* ---- recurrent cells ---- */

enum { CL = 4, CB = 3, CH = 5 };

typedef struct {
    int gru;
    float xg_in[CL * CB * 3 * CH], xg[CL * CB * 3 * CH], h0[CB * CH], u[3 * CH * CH];
    float hs[CL * CB * CH], rh[CL * CB * CH], w[CL * CB * CH];
} cell_case;

static double cell_loss(void *p) {
    cell_case *c = p;
    size_t G = c->gru ? 3 : 1;
    memcpy(c->xg, c->xg_in, CL * CB * G * CH * sizeof(float));
    if (c->gru)
        gru_forward(c->hs, c->xg, c->rh, c->h0, c->u, CL, CB, CH);
    else
        elman_forward(c->hs, c->xg, c->h0, c->u, CL, CB, CH);
    return weighted_sum(c->hs, c->w, CL * CB * CH);
}

static void check_cell(int gru) {
    cell_case c = {.gru = gru};
    size_t G = gru ? 3 : 1;
    sr_rng rng = {gru ? 11u : 12u};
    fill_random(c.xg_in, CL * CB * G * CH, 1.5f, &rng);
    fill_random(c.h0, CB * CH, 0.8f, &rng);
    fill_random(c.u, G * CH * CH, 0.6f, &rng);
    fill_random(c.w, CL * CB * CH, 1.0f, &rng);
    cell_loss(&c);
    float dhs[CL * CB * CH], d_xg[CL * CB * 3 * CH], d_h0[CB * CH], d_u[3 * CH * CH] = {0};
    memcpy(dhs, c.w, sizeof dhs);
    if (gru)
        gru_backward(d_xg, d_h0, d_u, dhs, c.h0, c.hs, c.xg, c.rh, c.u, CL, CB, CH);
    else
        elman_backward(d_xg, d_h0, d_u, dhs, c.h0, c.hs, c.u, CL, CB, CH);
    const char *n = gru ? "gru" : "elman";
    char name[64];
    snprintf(name, sizeof name, "%s x-side", n);
    ck_assert_double_le(fd_check(name, c.xg_in, d_xg, CL * CB * G * CH, 1, cell_loss, &c, EPS, ABS_TOL, REL_TOL), 1.0);
    snprintf(name, sizeof name, "%s h0", n);
    ck_assert_double_le(fd_check(name, c.h0, d_h0, CB * CH, 1, cell_loss, &c, EPS, ABS_TOL, REL_TOL), 1.0);
    snprintf(name, sizeof name, "%s U", n);
    ck_assert_double_le(fd_check(name, c.u, d_u, G * CH * CH, 1, cell_loss, &c, EPS, ABS_TOL, REL_TOL), 1.0);
}

START_TEST(gru_gradients) { check_cell(1); }
END_TEST

START_TEST(elman_gradients) { check_cell(0); }
END_TEST

/* ---- attention ---- */

enum { AL = 4, AB = 3, AT = 3, AK = 5, AP = AT - 1 + AL };

typedef struct {
    float q[AL * AB * AK], keys[AP * AB * AK], c[AL * AB * AK], alpha[AL * AB * AT];
    float w[AL * AB * AK];
    uint8_t valid[AP * AB];
} attn_case;

static double attn_loss(void *p) {
    attn_case *a = p;
    attention_forward(a->c, a->alpha, a->q, a->keys, a->valid, AL, AB, AT, AK);
    return weighted_sum(a->c, a->w, AL * AB * AK);
}

START_TEST(attention_gradients) {
    attn_case a;
    sr_rng rng = {21};
    fill_random(a.q, sizeof a.q / 4, 1.5f, &rng);
    fill_random(a.keys, sizeof a.keys / 4, 1.0f, &rng);
    fill_random(a.w, sizeof a.w / 4, 1.0f, &rng);
    for (size_t i = 0; i < AP * AB; i++) a.valid[i] = 1;
    /* sequence 1 has no carried history; sequence 2 ends after 2 steps */
    a.valid[0 * AB + 1] = a.valid[1 * AB + 1] = 0;
    a.valid[4 * AB + 2] = a.valid[5 * AB + 2] = 0;
    attn_loss(&a);
    float dq[AL * AB * AK], dk[AP * AB * AK] = {0};
    attention_backward(dq, dk, a.w, a.alpha, a.q, a.keys, a.valid, AL, AB, AT, AK);
    ck_assert_double_le(fd_check("attention q", a.q, dq, AL * AB * AK, 1, attn_loss, &a, EPS, ABS_TOL, REL_TOL), 1.0);
    ck_assert_double_le(fd_check("attention keys", a.keys, dk, AP * AB * AK, 1, attn_loss, &a, EPS, ABS_TOL, REL_TOL), 1.0);
    /* weights of a row sum to 1 over valid positions, 0 elsewhere */
    for (size_t t = 0; t < AL; t++)
        for (size_t b = 0; b < AB; b++) {
            double s = 0;
            for (size_t j = 0; j < AT; j++) {
                float al = a.alpha[(t * AB + b) * AT + j];
                if (!a.valid[(t + j) * AB + b]) ck_assert_float_eq(al, 0.0f);
                s += al;
            }
            ck_assert_double_eq_tol(s, 1.0, 1e-5);
        }
}
END_TEST

/* ---- linear ---- */

typedef struct {
    float x[6 * 4], w[3 * 4], b[3], y[6 * 3], g[6 * 3];
} linear_case;

static double linear_loss(void *p) {
    linear_case *l = p;
    linear_forward(l->y, l->x, l->w, l->b, 6, 4, 3);
    return weighted_sum(l->y, l->g, 18);
}

START_TEST(linear_gradients) {
    linear_case l;
    sr_rng rng = {31};
    fill_random(l.x, 24, 1.0f, &rng);
    fill_random(l.w, 12, 1.0f, &rng);
    fill_random(l.b, 3, 1.0f, &rng);
    fill_random(l.g, 18, 1.0f, &rng);
    float dx[24], dw[12] = {0}, db[3] = {0};
    linear_backward(dx, dw, db, l.g, l.x, l.w, 6, 4, 3);
    ck_assert_double_le(fd_check("linear x", l.x, dx, 24, 1, linear_loss, &l, EPS, ABS_TOL, REL_TOL), 1.0);
    ck_assert_double_le(fd_check("linear w", l.w, dw, 12, 1, linear_loss, &l, EPS, ABS_TOL, REL_TOL), 1.0);
    ck_assert_double_le(fd_check("linear b", l.b, db, 3, 1, linear_loss, &l, EPS, ABS_TOL, REL_TOL), 1.0);
}
END_TEST

/* ---- dropout ---- */

START_TEST(dropout_masks) {
    enum { n = 100000 };
    float *m = malloc(n * sizeof *m), *m2 = malloc(n * sizeof *m2);
    dropout_mask(m, n, 0.25f, 7, 1);
    dropout_mask(m2, n, 0.25f, 7, 1);
    ck_assert_int_eq(memcmp(m, m2, n * sizeof *m), 0);
    size_t zeros = 0;
    double mean = 0;
    for (size_t i = 0; i < n; i++) {
        zeros += m[i] == 0.0f;
        mean += m[i];
        ck_assert(m[i] == 0.0f || fabsf(m[i] - 1.0f / 0.75f) < 1e-6f);
    }
    ck_assert_double_eq_tol((double)zeros / n, 0.25, 0.01);
    ck_assert_double_eq_tol(mean / n, 1.0, 0.02);   /* inverted: expectation kept */
    dropout_mask(m2, n, 0.25f, 7, 2);
    ck_assert_int_ne(memcmp(m, m2, n * sizeof *m), 0);
    dropout_mask(m, n, 0.0f, 7, 1);
    for (size_t i = 0; i < n; i++) ck_assert_float_eq(m[i], 1.0f);
    free(m), free(m2);
}
END_TEST

/* ---- losses ---- */

enum { LN = 7, LE = 4, LV = 9, LS = 5 };

typedef struct {
    float u[LN * LE], emb[LV * LE], bias[LV], q[LV];
    int32_t targets[LN], neg[LS];
    int sampled;
    float scale;
    float scratch[4096];
} loss_case;

static double loss_value(void *p) {
    loss_case *c = p;
    if (c->sampled)
        return c->scale * sampled_softmax_forward_backward(NULL, NULL, NULL, c->u, c->targets, c->emb, c->bias,
                                                          c->neg, LS, c->q, LN, LE, c->scale, c->scratch, 3);
    return c->scale * softmax_ce_forward_backward(NULL, NULL, NULL, c->u, c->targets, c->emb, c->bias, LN, LE,
                                                  LV, c->scale, c->scratch, 3);
}

static void check_loss(int sampled) {
    loss_case c = {.targets = {3, -1, 0, 8, 3, -1, 5}, .neg = {1, 3, 7, 7, 2},
                   .sampled = sampled, .scale = 1.0f / 5.0f};
    sr_rng rng = {41u + (unsigned)sampled};
    fill_random(c.u, LN * LE, 1.0f, &rng);
    fill_random(c.emb, LV * LE, 1.0f, &rng);
    fill_random(c.bias, LV, 0.5f, &rng);
    double qs = 0;
    for (size_t i = 0; i < LV; i++) qs += c.q[i] = 0.2f + sr_rng_float(&rng);
    for (size_t i = 0; i < LV; i++) c.q[i] = (float)(c.q[i] / qs);
    float du[LN * LE], de[LV * LE] = {0}, db[LV] = {0};
    double total;
    if (sampled)
        total = sampled_softmax_forward_backward(du, de, db, c.u, c.targets, c.emb, c.bias, c.neg, LS, c.q, LN,
                                                 LE, c.scale, c.scratch, 3);
    else
        total = softmax_ce_forward_backward(du, de, db, c.u, c.targets, c.emb, c.bias, LN, LE, LV, c.scale,
                                            c.scratch, 3);
    ck_assert(total > 0.0);
    const char *n = sampled ? "sampled softmax" : "full softmax";
    char name[64];
    snprintf(name, sizeof name, "%s u", n);
    ck_assert_double_le(fd_check(name, c.u, du, LN * LE, 1, loss_value, &c, EPS, ABS_TOL, REL_TOL), 1.0);
    snprintf(name, sizeof name, "%s out_embed", n);
    ck_assert_double_le(fd_check(name, c.emb, de, LV * LE, 1, loss_value, &c, EPS, ABS_TOL, REL_TOL), 1.0);
    snprintf(name, sizeof name, "%s out_bias", n);
    ck_assert_double_le(fd_check(name, c.bias, db, LV, 1, loss_value, &c, EPS, ABS_TOL, REL_TOL), 1.0);
    for (size_t e = 0; e < LE; e++) {    /* masked rows: no gradient */
        ck_assert_float_eq(du[1 * LE + e], 0.0f);
        ck_assert_float_eq(du[5 * LE + e], 0.0f);
    }
}

START_TEST(full_softmax_gradients) { check_loss(0); }
END_TEST

START_TEST(sampled_softmax_gradients) { check_loss(1); }
END_TEST

/* The block-wise full softmax equals a plain per-row computation in double,
 * for any block size. */
START_TEST(full_softmax_matches_plain) {
    loss_case c = {.targets = {3, -1, 0, 8, 3, -1, 5}, .scale = 1.0f};
    sr_rng rng = {51};
    fill_random(c.u, LN * LE, 2.0f, &rng);
    fill_random(c.emb, LV * LE, 2.0f, &rng);
    fill_random(c.bias, LV, 1.0f, &rng);
    double plain = 0.0;
    double dbias_plain[LV] = {0};
    for (size_t n = 0; n < LN; n++) {
        if (c.targets[n] < 0) continue;
        double s[LV], max = -1e300, sum = 0;
        for (size_t v = 0; v < LV; v++) {
            s[v] = c.bias[v];
            for (size_t e = 0; e < LE; e++) s[v] += (double)c.u[n * LE + e] * c.emb[v * LE + e];
            max = fmax(max, s[v]);
        }
        for (size_t v = 0; v < LV; v++) sum += exp(s[v] - max);
        plain += log(sum) + max - s[c.targets[n]];
        for (size_t v = 0; v < LV; v++) dbias_plain[v] += exp(s[v] - max) / sum - (v == (size_t)c.targets[n]);
    }
    for (size_t block = 1; block <= 8; block++) {
        float du[LN * LE], de[LV * LE] = {0}, db[LV] = {0};
        double l = softmax_ce_forward_backward(du, de, db, c.u, c.targets, c.emb, c.bias, LN, LE, LV, 1.0f,
                                               c.scratch, block);
        ck_assert_double_eq_tol(l, plain, 1e-4);
        for (size_t v = 0; v < LV; v++) ck_assert_double_eq_tol(db[v], dbias_plain[v], 1e-5);
    }
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("model_grad");
    TCase *tc = tcase_create("layers");
    tcase_add_test(tc, embedding_gradients);
    tcase_add_test(tc, gru_gradients);
    tcase_add_test(tc, elman_gradients);
    tcase_add_test(tc, attention_gradients);
    tcase_add_test(tc, linear_gradients);
    tcase_add_test(tc, dropout_masks);
    tcase_add_test(tc, full_softmax_gradients);
    tcase_add_test(tc, sampled_softmax_gradients);
    tcase_add_test(tc, full_softmax_matches_plain);
    suite_add_tcase(s, tc);
    return s;
}
