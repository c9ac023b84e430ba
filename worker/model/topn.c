/*
 * topn.c — the n best rows of a score row, skipping excluded rows.
 *
 * One pass keeps the best n seen so far in a min-heap (the worst of them at the
 * root); a row enters only if it beats the root, and only then is it checked
 * against the exclusion list (excluded rows are few; most rows never get that
 * far), so the cost is O(V) comparisons plus O(log n) per entry into the heap
 * (O(n log(V/n) log n) expected entries for scores in random order), then
 * O(n log n) to sort the result. Order: higher score first, equal scores by
 * lower row; NaN scores rank below everything.
 */
#include <math.h>

#include "sr_model.h"

/* a ranks before b */
static int better(float sa, int32_t ra, float sb, int32_t rb) {
    if (isnan(sb)) return !isnan(sa) || ra < rb;
    if (isnan(sa)) return 0;
    return sa > sb || (sa == sb && ra < rb);
}

static void sift_down(sr_scored_row *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && better(h[w].score, h[w].row, h[l].score, h[l].row)) w = l;
        if (r < n && better(h[w].score, h[w].row, h[r].score, h[r].row)) w = r;
        if (w == i) return;
        sr_scored_row x = h[i];
        h[i] = h[w];
        h[w] = x;
        i = w;
    }
}

static void sift_up(sr_scored_row *h, size_t i) {
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!better(h[p].score, h[p].row, h[i].score, h[i].row)) return;
        sr_scored_row x = h[i];
        h[i] = h[p];
        h[p] = x;
        i = p;
    }
}

static int excluded(int32_t row, const int32_t *exclude, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (exclude[i] == row) return 1;
    return 0;
}

size_t sr_topn(const float *scores, uint32_t count, const int32_t *exclude,
               size_t exclude_count, size_t n, sr_scored_row *out) {
    if (n == 0) return 0;
    size_t size = 0;
    for (uint32_t r = 0; r < count; r++) {
        float s = scores[r];
        if (size == n && !better(s, (int32_t)r, out[0].score, out[0].row)) continue;
        if (exclude_count && excluded((int32_t)r, exclude, exclude_count)) continue;
        if (size < n) {
            out[size] = (sr_scored_row){(int32_t)r, s};
            sift_up(out, size++);
        } else {
            out[0] = (sr_scored_row){(int32_t)r, s};
            sift_down(out, size, 0);
        }
    }
    /* heap sort in place: the root (worst) goes to the end */
    for (size_t k = size; k > 1; k--) {
        sr_scored_row x = out[0];
        out[0] = out[k - 1];
        out[k - 1] = x;
        sift_down(out, k - 1, 0);
    }
    return size;
}
