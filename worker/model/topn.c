/*
 * topn.c — the n best rows of a score row, skipping excluded rows.
 *
 * One pass keeps the best n seen so far in a min-heap (the worst of them at the
 * root); a row enters only if it beats the root, and only then is it checked
 * against the exclusion list (excluded rows are few; most rows never get that
 * far), so the cost is O(V) comparisons plus O(log n) per entry into the heap
 * (O(n log(V/n) log n) expected entries for scores in random order), then
 * O(n log n) to sort the result. Order: higher score first, equal scores by
 * lower row; NaN scores rank below everything. The O(V) part runs on vectors:
 * a bound from the blocks' maxima first, and the blocks below it are skipped
 * whole (answer_bound).
 */
#include <math.h>
#include <stdbool.h>

#include "model/model_internal.h"

/* Float selects only become vector blends when comparisons may not trap. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

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

/* The scan's shapes: groups of GROUP_ROWS x LANES scores (see
 * answer_bound), blocks of BLOCK contiguous scores (see sr_topn). */
enum { LANES = 16, GROUP_ROWS = 32, SUPER = LANES * GROUP_ROWS, BLOCK = 32, MAX_BOUND_HEAP = 256 };

/* The maxima of the LANES strided groups of a superblock: lane j holds the
 * largest of scores[j], scores[j + LANES], ... A plain loop the compiler
 * turns into one vector max per LANES scores. A NaN never wins the
 * comparison, so it never becomes a maximum. */
SR_VECTOR_CLONES
static void group_maxima(const float *scores, float *lane) {
    for (size_t j = 0; j < LANES; j++) lane[j] = -INFINITY;
    for (size_t i = 0; i < SUPER; i += LANES)
        for (size_t j = 0; j < LANES; j++) lane[j] = scores[i + j] > lane[j] ? scores[i + j] : lane[j];
}

/* Whether any of the block's scores is >= threshold (an integer reduction:
 * vector compares). */
SR_VECTOR_CLONES
static int block_reaches(const float *scores, float threshold) {
    int any = 0;
    for (size_t i = 0; i < BLOCK; i++) any |= scores[i] >= threshold;
    return any;
}

/* A lower bound on the score a row needs to make the list: the m-th largest
 * of the groups' maxima, m = n + exclude_count. Those m groups hold m
 * distinct rows scoring at least that, of which at most exclude_count are
 * excluded, so n rows of the answer score at least the bound: a row below it
 * (or a NaN, which ranks below every number) is not in the answer. -inf when
 * there are too few groups. */
static float answer_bound(const float *scores, uint32_t count, size_t m) {
    size_t supers = count / SUPER;
    if (m > MAX_BOUND_HEAP || supers * LANES < m) return -INFINITY;
    /* min-heap of the m largest maxima so far: plain floats, not the row heap
     * above (its NaN-aware comparisons made top-N a quarter slower here) */
    float heap[MAX_BOUND_HEAP];
    size_t size = 0;
    for (size_t g = 0; g < supers; g++) {
        float lane[LANES];
        group_maxima(scores + g * SUPER, lane);
        for (size_t j = 0; j < LANES; j++) {
            float x = lane[j];
            if (size == m && !(x > heap[0])) continue;
            size_t i;
            if (size < m) { /* sift up */
                for (i = size++; i > 0 && heap[(i - 1) / 2] > x; i = (i - 1) / 2)
                    heap[i] = heap[(i - 1) / 2];
            } else { /* replace the root, sift down */
                for (i = 0;;) {
                    size_t c = 2 * i + 1;
                    if (c >= m) break;
                    if (c + 1 < m && heap[c + 1] < heap[c]) c++;
                    if (!(heap[c] < x)) break;
                    heap[i] = heap[c];
                    i = c;
                }
            }
            heap[i] = x;
        }
    }
    return heap[0];
}

/* Offers row r to the heap of the n best (out[0..*size)). */
static void offer(float s, uint32_t r, const int32_t *exclude, size_t exclude_count, size_t n,
                  sr_scored_row *out, size_t *size) {
    if (*size == n && !better(s, (int32_t)r, out[0].score, out[0].row)) return;
    if (exclude_count && excluded((int32_t)r, exclude, exclude_count)) return;
    if (*size < n) {
        out[*size] = (sr_scored_row){(int32_t)r, s};
        sift_up(out, (*size)++);
    } else {
        out[0] = (sr_scored_row){(int32_t)r, s};
        sift_down(out, *size, 0);
    }
}

size_t sr_topn(const float *scores, uint32_t count, const int32_t *exclude,
               size_t exclude_count, size_t n, sr_scored_row *out) {
    if (n == 0) return 0;
    size_t size = 0, blocks = count / BLOCK;
    /* Two passes: a bound from the groups' maxima (vector speed), then only
     * the rows at or above it go through the heap: at V = 12,000 and n = 20,
     * a few dozen blocks of 375 hold any. */
    float bound = answer_bound(scores, count, n + exclude_count);
    bool bounded = bound > -INFINITY; /* else every row, NaNs too, may be needed */
    for (size_t b = 0; b < blocks; b++) {
        const float *block = scores + b * BLOCK;
        if (bounded && !block_reaches(block, bound)) continue;
        for (uint32_t i = 0; i < BLOCK; i++)
            if (!bounded || block[i] >= bound)
                offer(block[i], (uint32_t)(b * BLOCK) + i, exclude, exclude_count, n, out, &size);
    }
    for (uint32_t r = (uint32_t)(blocks * BLOCK); r < count; r++) /* NaNs too: no bound here */
        offer(scores[r], r, exclude, exclude_count, n, out, &size);
    /* heap sort in place: the root (worst) goes to the end */
    for (size_t k = size; k > 1; k--) {
        sr_scored_row x = out[0];
        out[0] = out[k - 1];
        out[k - 1] = x;
        sift_down(out, k - 1, 0);
    }
    return size;
}
