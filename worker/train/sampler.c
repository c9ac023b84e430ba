/*
 * sampler.c — Walker's alias method: O(n) to build, O(1) per draw. Used for the
 * popularity-sampled negatives of the sampled softmax, p_i ~ (count_i + 1)^alpha.
 */
#include <math.h>
#include <stdlib.h>

#include "train/train_internal.h"

sr_status sr_alias_build(sr_alias_table *t, const uint32_t *counts, size_t n, double alpha,
                         sr_error *err) {
    t->n = n;
    t->prob = malloc(n * sizeof *t->prob);
    t->alias = malloc(n * sizeof *t->alias);
    t->p = malloc(n * sizeof *t->p);
    double *scaled = malloc(n * sizeof *scaled);
    uint32_t *small = malloc(n * sizeof *small), *large = malloc(n * sizeof *large);
    if (!t->prob || !t->alias || !t->p || !scaled || !small || !large || n == 0) {
        free(scaled), free(small), free(large);
        sr_alias_free(t);
        return n == 0 ? sr_fail(err, SR_ERR_INVALID_ARG, "alias table over no items")
                      : sr_fail(err, SR_ERR_NOMEM, "alias table: out of memory");
    }
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += scaled[i] = pow((double)counts[i] + 1.0, alpha);
    size_t ns = 0, nl = 0;
    for (size_t i = 0; i < n; i++) {
        t->p[i] = (float)(scaled[i] / sum);
        scaled[i] = scaled[i] / sum * (double)n;
        t->alias[i] = (uint32_t)i;
        if (scaled[i] < 1.0) small[ns++] = (uint32_t)i;
        else large[nl++] = (uint32_t)i;
    }
    while (ns && nl) {
        uint32_t s = small[--ns], l = large[nl - 1];
        t->prob[s] = (float)scaled[s];
        t->alias[s] = l;
        scaled[l] -= 1.0 - scaled[s];
        if (scaled[l] < 1.0) {
            nl--;
            small[ns++] = l;
        }
    }
    while (nl) t->prob[large[--nl]] = 1.0f;
    while (ns) t->prob[small[--ns]] = 1.0f;
    free(scaled), free(small), free(large);
    return SR_OK;
}

uint32_t sr_alias_sample(const sr_alias_table *t, sr_rng *rng) {
    uint64_t i = sr_rng_below(rng, t->n);
    return sr_rng_float(rng) < t->prob[i] ? (uint32_t)i : t->alias[i];
}

void sr_alias_free(sr_alias_table *t) {
    free(t->prob), free(t->alias), free(t->p);
    t->prob = NULL, t->alias = NULL, t->p = NULL;
    t->n = 0;
}
