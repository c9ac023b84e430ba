/* test_model_util.h — helpers the model and training tests share: random
 * fills, a finite-difference gradient checker, hand-built datasets. */
#ifndef TEST_MODEL_UTIL_H
#define TEST_MODEL_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "sr_dataset.h"

static inline void fill_random(float *p, size_t n, float scale, sr_rng *rng) {
    for (size_t i = 0; i < n; i++) p[i] = (2.0f * sr_rng_float(rng) - 1.0f) * scale;
}

/* A loss recomputed from scratch by the forward pass under test. */
typedef double fd_loss_fn(void *context);

/* Compares analytic[i] with the central difference of f in param[i] for the
 * n parameters (every stride-th one); returns the largest violation ratio
 * |a - num| / (abs_tol + rel_tol * max(|a|, |num|)) (<= 1 passes) and prints
 * the worst coordinate. */
static inline double fd_check(const char *name, float *param, const float *analytic, size_t n,
                              size_t stride, fd_loss_fn *f, void *ctx, float eps, double abs_tol,
                              double rel_tol) {
    double worst = 0.0;
    size_t worst_i = 0;
    double worst_a = 0, worst_num = 0;
    for (size_t i = 0; i < n; i += stride) {
        float saved = param[i];
        param[i] = saved + eps;
        double fp = f(ctx);
        param[i] = saved - eps;
        double fm = f(ctx);
        param[i] = saved;
        double num = (fp - fm) / (2.0 * (double)eps);
        double a = analytic[i];
        double ratio = fabs(a - num) / (abs_tol + rel_tol * fmax(fabs(a), fabs(num)));
        if (isnan(ratio) || ratio > worst) {  /* a NaN gradient is the worst of all */
            worst = isnan(ratio) ? INFINITY : ratio;
            worst_i = i;
            worst_a = a;
            worst_num = num;
        }
    }
    if (worst > 0.5 || getenv("SR_FD_VERBOSE"))
        fprintf(stderr, "fd %-28s worst ratio %.3f at %zu: analytic %.7g numeric %.7g\n", name,
                worst, worst_i, worst_a, worst_num);
    return worst;
}

/* A dataset built by hand: users' sequences given as rows (types VIEW). */
static inline void dataset_by_hand(sr_dataset *d, size_t users, const size_t *lengths,
                                   const int32_t *rows, uint32_t V) {
    memset(d, 0, sizeof *d);
    size_t events = 0;
    for (size_t u = 0; u < users; u++) events += lengths[u];
    d->user_count = users;
    d->event_count = events;
    d->user_ids = calloc(users, sizeof *d->user_ids);
    d->offsets = calloc(users + 1, sizeof *d->offsets);
    d->rows = malloc(events * sizeof *d->rows);
    d->types = calloc(events, 1);
    d->times = calloc(events, sizeof *d->times);
    d->item_counts = calloc(V, sizeof *d->item_counts);
    d->vocab.count = V;
    memcpy(d->rows, rows, events * sizeof *rows);
    for (size_t u = 0; u < users; u++) {
        d->user_ids[u] = (int64_t)u + 1;
        d->offsets[u + 1] = d->offsets[u] + lengths[u];
    }
    for (size_t u = 0; u < users; u++)
        for (size_t e = d->offsets[u]; e < sr_dataset_train_end(d, u); e++)
            d->item_counts[d->rows[e]]++;
}

static inline void dataset_by_hand_free(sr_dataset *d) {
    free(d->user_ids), free(d->offsets), free(d->rows), free(d->types), free(d->times);
    free(d->item_counts);
    memset(d, 0, sizeof *d);
}

/* Users walking the deterministic chain row -> (7 row + 3) mod V from a random
 * start, 5..20 events each: learnable to HR@1 near 1. */
static inline void markov_dataset(sr_dataset *d, size_t users, uint32_t V, uint64_t seed) {
    sr_rng rng = {seed};
    size_t *lengths = malloc(users * sizeof *lengths), total = 0;
    for (size_t u = 0; u < users; u++) total += lengths[u] = 5 + (size_t)sr_rng_below(&rng, 16);
    int32_t *rows = malloc(total * sizeof *rows);
    for (size_t u = 0, e = 0; u < users; u++) {
        int32_t cur = (int32_t)sr_rng_below(&rng, V);
        for (size_t i = 0; i < lengths[u]; i++, e++) {
            rows[e] = cur;
            cur = (int32_t)((cur * 7 + 3) % (int32_t)V);
        }
    }
    dataset_by_hand(d, users, lengths, rows, V);
    free(lengths), free(rows);
}

#endif
