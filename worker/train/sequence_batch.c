/*
 * sequence_batch.c — turning users' training sequences into batches.
 *
 * A user contributes its last max_length training events s_0..s_{n-1}: n - 1
 * steps, step t reading s_t and predicting s_{t+1}. Users are shuffled, then
 * sorted by n (stable, so equal lengths stay shuffled), so that a batch of
 * consecutive users pads little; batches are right-padded (a padded step has
 * row -1 and no target), so every sequence starts at step 0 with h = 0.
 */
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

void sequence_span(const sr_dataset *data, size_t u, uint32_t max_length, size_t *begin,
                   size_t *end) {
    size_t b = data->offsets[u], e = sr_dataset_train_end(data, u);
    if (e - b > max_length) b = e - max_length;
    *begin = b;
    *end = e;
}

size_t sequence_order(size_t *order, size_t *tmp, const sr_dataset *data, uint32_t max_length,
                      sr_rng *rng) {
    size_t n = 0;
    for (size_t u = 0; u < data->user_count; u++) {
        size_t b, e;
        sequence_span(data, u, max_length, &b, &e);
        if (e - b >= 2) tmp[n++] = u;
    }
    for (size_t i = n; i > 1; i--) {   /* Fisher-Yates */
        size_t j = (size_t)sr_rng_below(rng, i);
        size_t x = tmp[i - 1];
        tmp[i - 1] = tmp[j];
        tmp[j] = x;
    }
    /* counting sort by length 2..max_length */
    size_t *start = calloc((size_t)max_length + 2, sizeof *start);
    if (!start) {  /* cannot happen for sane max_length; keep the shuffled order */
        memcpy(order, tmp, n * sizeof *order);
        return n;
    }
    for (size_t i = 0; i < n; i++) {
        size_t b, e;
        sequence_span(data, tmp[i], max_length, &b, &e);
        start[e - b + 1]++;
    }
    for (size_t l = 1; l <= (size_t)max_length + 1; l++) start[l] += start[l - 1];
    for (size_t i = 0; i < n; i++) {
        size_t b, e;
        sequence_span(data, tmp[i], max_length, &b, &e);
        order[start[e - b]++] = tmp[i];
    }
    free(start);
    return n;
}

size_t sequence_batch_fill(int32_t *rows, uint8_t *types, int32_t *targets,
                           const sr_dataset *data, const size_t *users, size_t B,
                           uint32_t max_length) {
    size_t steps = 0;
    for (size_t b = 0; b < B; b++) {
        size_t lo, hi;
        sequence_span(data, users[b], max_length, &lo, &hi);
        if (hi - lo - 1 > steps) steps = hi - lo - 1;
    }
    for (size_t b = 0; b < B; b++) {
        size_t lo, hi;
        sequence_span(data, users[b], max_length, &lo, &hi);
        size_t n = hi - lo;
        for (size_t t = 0; t < steps; t++) {
            size_t i = t * B + b;
            int live = t + 1 < n;
            rows[i] = live ? data->rows[lo + t] : -1;
            types[i] = live ? data->types[lo + t] : 0;
            targets[i] = live ? data->rows[lo + t + 1] : -1;
        }
    }
    return steps;
}
