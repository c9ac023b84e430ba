/*
 * bench_model.c — the model's speed on one core (OpenBLAS pinned to 1 thread):
 *   serving step: events/s of sr_model_step_batch at E = H = 64, batches of 256
 *                 (with the input GEMM, then with the step table)
 *                 users drawn from 100k users, against the plain reference step
 *                 (one user at a time, libm gates) in the same run; the ratio;
 *   user vectors + scoring + top-10 per user;
 *   training: events/s of sr_train_epoch on a synthetic dataset, full and
 *             sampled softmax.
 * The last line on stdout is one JSON object.
 *
 *   build/bench/bench_model [--items V] [--attention none|items|hidden]
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/model_internal.h"
#include "sr_train.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int die(const sr_error *err) {
    fprintf(stderr, "bench_model: %s\n", err->message);
    return 1;
}

int main(int argc, char **argv) {
    uint32_t V = 20000;
    sr_attention_kind attention = SR_ATTENTION_ITEMS;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--items") && i + 1 < argc) V = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--attention") && i + 1 < argc) {
            const char *a = argv[++i];
            attention = !strcmp(a, "none") ? SR_ATTENTION_NONE : !strcmp(a, "hidden") ? SR_ATTENTION_HIDDEN : SR_ATTENTION_ITEMS;
        }
    }
    openblas_set_num_threads(1);
    sr_error err;
    sr_model_config mc = {.item_count = V, .embed_dim = 64, .hidden_dim = 64, .window = 8,
                          .cell = SR_CELL_GRU, .attention = attention, .tied_embeddings = 1};
    sr_model *m;
    if (sr_model_new(&mc, &m, &err) != SR_OK) return die(&err);
    sr_model_init_random(m, 1);

    enum { users = 100000, B = 256 };
    size_t F = sr_model_state_floats(&mc), T = mc.window;
    float *hidden = calloc((size_t)users * F, sizeof *hidden);
    int32_t *ring = calloc((size_t)users * T, sizeof *ring);
    uint8_t *ring_types = calloc((size_t)users * T, 1);
    sr_user_state_view *views = calloc(users, sizeof *views);
    sr_user_state_view **batch = malloc(B * sizeof *batch);
    uint32_t *perm = malloc(users * sizeof *perm);
    int32_t rows[B];
    uint8_t types[B];
    if (!hidden || !ring || !ring_types || !views || !batch || !perm) return 1;
    for (size_t u = 0; u < users; u++) {
        views[u] = (sr_user_state_view){.hidden = hidden + u * F, .recent_rows = ring + u * T,
                                        .recent_types = ring_types + u * T};
        perm[u] = (uint32_t)u;
    }
    sr_rng rng = {1};
    for (size_t i = users; i > 1; i--) {
        size_t j = sr_rng_below(&rng, i);
        uint32_t x = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = x;
    }
    sr_model_workspace *ws;
    if (sr_model_workspace_new(&mc, B, &ws, &err) != SR_OK) return die(&err);

    /* optimised batched step: the input GEMM, then the step table in fp32, then
     * in bf16x3 (the worker's default; on AMX, else fp32 again) */
    double rates[3] = {0};
    size_t cursor = 0;
    sr_step_precision bf16_runs = SR_STEP_FP32;
    for (int variant = 0; variant < 3; variant++) {
        if (variant == 1 && sr_model_prepare_step_table(m, SIZE_MAX, SR_STEP_FP32, &err) != SR_OK) return die(&err);
        if (variant == 2) {
            /* the same model: its bf16 packing is added to the fp32 one */
            if (sr_model_prepare_step_table(m, SIZE_MAX, SR_STEP_BF16X3, &err) != SR_OK) return die(&err);
            bf16_runs = sr_model_step_precision(m);
        }
        size_t events = 0;
        double t0 = now();
        while (now() - t0 < 2.0) {
            for (int rep = 0; rep < 50; rep++) {
                for (size_t b = 0; b < B; b++) {
                    batch[b] = &views[perm[cursor]];
                    cursor = (cursor + 1) % users;
                    rows[b] = (int32_t)sr_rng_below(&rng, V);
                    types[b] = (uint8_t)sr_rng_below(&rng, SR_EVENT_TYPE_COUNT);
                }
                sr_model_step_batch(m, B, rows, types, batch, ws);
                events += B;
            }
        }
        rates[variant] = (double)events / (now() - t0);
    }
    double step_rate = rates[0], table_rate = rates[1], bf16_rate = rates[2];

    /* the plain reference, one user at a time */
    size_t ref_events = 0;
    double t0 = now();
    while (now() - t0 < 1.0) {
        for (int rep = 0; rep < 1000; rep++) {
            sr_user_state_view *v = &views[perm[cursor]];
            cursor = (cursor + 1) % users;
            sr_model_step_reference(m, (int32_t)sr_rng_below(&rng, V), 0, v);
            ref_events++;
        }
    }
    double ref_rate = (double)ref_events / (now() - t0);

    /* user vectors, scores over the catalogue, top 10 */
    float *u = malloc((size_t)B * 64 * sizeof *u), *scores = malloc((size_t)B * V * sizeof *scores);
    sr_scored_row top[10];
    size_t scored = 0;
    t0 = now();
    while (now() - t0 < 2.0) {
        for (size_t b = 0; b < B; b++) {
            batch[b] = &views[perm[cursor]];
            cursor = (cursor + 1) % users;
        }
        sr_model_user_vectors(m, B, batch, u, ws);
        sr_model_score(m, B, u, scores);
        for (size_t b = 0; b < B; b++)
            sr_topn(scores + b * V, V, batch[b]->recent_rows, batch[b]->recent_count, 10, top);
        scored += B;
    }
    double score_rate = (double)scored / (now() - t0);
    fprintf(stderr, "serving (E=H=64, B=%d, T=%zu, V=%u, attention %d): step %.0f events/s, with the step "
            "table %.0f, and in %s %.0f; reference %.0f events/s (x%.1f, x%.1f, x%.1f); user vector + "
            "score + top-10: %.0f users/s\n",
            B, T, V, (int)attention, step_rate, table_rate, sr_step_precision_name(bf16_runs),
            bf16_rate, ref_rate, step_rate / ref_rate, table_rate / ref_rate, bf16_rate / ref_rate,
            score_rate);
    sr_model_workspace_free(ws);

    /* training on a synthetic Markov dataset */
    uint32_t TV = 5000;
    size_t tusers = 4000, len = 30, total = tusers * len;
    sr_dataset d;
    memset(&d, 0, sizeof d);
    d.user_count = tusers;
    d.event_count = total;
    d.offsets = malloc((tusers + 1) * sizeof *d.offsets);
    d.rows = malloc(total * sizeof *d.rows);
    d.types = calloc(total, 1);
    d.item_counts = calloc(TV, sizeof *d.item_counts);
    d.vocab.count = TV;
    for (size_t i = 0; i <= tusers; i++) d.offsets[i] = i * len;
    for (size_t i = 0; i < tusers; i++) {
        int32_t cur = (int32_t)sr_rng_below(&rng, TV);
        for (size_t k = 0; k < len; k++) {
            d.rows[i * len + k] = cur;
            cur = sr_rng_below(&rng, 4) ? (int32_t)((cur * 31 + 7) % (int32_t)TV) : (int32_t)sr_rng_below(&rng, TV);
            if (k < len - 2) d.item_counts[d.rows[i * len + k]]++;
        }
    }
    double train_rate[2];
    for (int sampled = 0; sampled < 2; sampled++) {
        sr_model_config tcfg = mc;
        tcfg.item_count = TV;
        sr_model *tm;
        if (sr_model_new(&tcfg, &tm, &err) != SR_OK) return die(&err);
        sr_model_init_random(tm, 2);
        sr_train_config tc;
        sr_train_config_init(&tc);
        tc.loss = sampled ? SR_LOSS_SAMPLED_SOFTMAX : SR_LOSS_FULL_SOFTMAX;
        sr_trainer *tr;
        if (sr_trainer_new(&tc, tm, &d, &tr, &err) != SR_OK) return die(&err);
        sr_epoch_stats st;
        if (sr_train_epoch(tr, tm, &d, &st, NULL, NULL, &err) != SR_OK) return die(&err);
        train_rate[sampled] = (double)st.events / st.seconds;
        fprintf(stderr, "training %s softmax (V=%u, E=H=64, B=%u): %.0f events/s, loss %.3f\n",
                sampled ? "sampled (1024)" : "full", TV, tc.batch_size, train_rate[sampled], st.loss);
        sr_trainer_free(tr);
        sr_model_free(tm);
    }
    printf("{\"bench\":\"model\",\"embed_dim\":64,\"hidden_dim\":64,\"batch\":%d,\"window\":%zu,\"items\":%u,"
           "\"attention\":%d,\"step_events_per_s\":%.0f,\"step_table_events_per_s\":%.0f,"
           "\"step_table_bf16x3_events_per_s\":%.0f,\"bf16x3_runs_as\":\"%s\","
           "\"reference_step_events_per_s\":%.0f,\"step_speedup\":%.2f,\"score_top10_users_per_s\":%.0f,\"train_full_events_per_s\":%.0f,"
           "\"train_sampled_events_per_s\":%.0f,\"train_items\":%u,\"threads\":1}\n",
           B, T, V, (int)attention, step_rate, table_rate, bf16_rate, sr_step_precision_name(bf16_runs),
           ref_rate, step_rate / ref_rate, score_rate,
           train_rate[0],
           train_rate[1], TV);
    free(d.offsets), free(d.rows), free(d.types), free(d.item_counts);
    free(u), free(scores), free(hidden), free(ring), free(ring_types), free(views), free(batch), free(perm);
    sr_model_free(m);
    return 0;
}
