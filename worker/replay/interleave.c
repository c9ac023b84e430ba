/*
 * interleave.c — putting loaded records in the order of a live stream.
 *
 * Files without timestamps (lines, pairs) are merged at random, as if, at each
 * step, the next event came from a user chosen with probability proportional to
 * the events that user has left. That merge is the same as a uniformly random
 * interleaving of the users' sequences, which is built here without per-step
 * sampling: group the records by user (file order kept inside a user), deal the
 * N stream positions out at random (a seeded shuffle), and give each user its
 * positions in increasing order. Each user's order is kept; the same seed and
 * file give the same stream. O(N log N) time at worst (files already grouped by
 * user skip the sort); for the time of the merge, 40 extra bytes per event.
 *
 * Files with timestamps (diginetica) are sorted by time, ties by file position.
 */
#include <stdlib.h>

#include "prng.h"
#include "replay_internal.h"

static int by_user_then_order(const void *a, const void *b) {
    const replay_record *x = a, *y = b;
    if (x->user_id != y->user_id) return x->user_id < y->user_id ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int by_time_then_order(const void *a, const void *b) {
    const replay_record *x = a, *y = b;
    if (x->time_ms != y->time_ms) return x->time_ms < y->time_ms ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The files list users in order, mostly: then there is nothing to sort. */
static void group_by_user(replay_record *records, size_t count) {
    for (size_t i = 1; i < count; i++)
        if (by_user_then_order(&records[i - 1], &records[i]) > 0) {
            qsort(records, count, sizeof *records, by_user_then_order);
            return;
        }
}

/* Distinct users in records sorted (or grouped) by user. */
static uint64_t count_user_groups(const replay_record *records, size_t count) {
    uint64_t users = 0;
    for (size_t i = 0; i < count; i++)
        if (i == 0 || records[i].user_id != records[i - 1].user_id) users++;
    return users;
}

/* positions[0..n) := a seeded random permutation of 0..n-1 (Fisher-Yates). */
static void shuffle_positions(uint64_t *positions, size_t n, uint64_t seed) {
    replay_prng prng;
    replay_prng_seed(&prng, seed);
    for (size_t i = 0; i < n; i++) positions[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)replay_prng_below(&prng, i);
        uint64_t t = positions[i - 1];
        positions[i - 1] = positions[j];
        positions[j] = t;
    }
}

/* Gives each user group of the sorted records its share of the shuffled
 * positions, smallest first, so its own order survives. */
static void deal_positions(replay_record *records, uint64_t *positions, size_t count) {
    size_t start = 0;
    for (size_t i = 1; i <= count; i++) {
        if (i < count && records[i].user_id == records[start].user_id) continue;
        qsort(positions + start, i - start, sizeof *positions, by_value);
        for (size_t k = start; k < i; k++) records[k].order = positions[k];
        start = i;
    }
}

static sr_status check_time_range(size_t count, const sr_replay_options *options,
                                  sr_error *err) {
    int64_t start = options->start_time_ms, step = options->time_step_ms;
    /* i * step must fit too, so a negative start gives no extra room. */
    int64_t room = start < 0 ? INT64_MAX : INT64_MAX - start;
    if (step > 0 && count > 0 && (uint64_t)(count - 1) > (uint64_t)(room / step))
        return sr_fail(err, SR_ERR_INVALID_ARG,
                       "start time %lld + %zu events * %lld ms overflows 64 bits",
                       (long long)start, count, (long long)step);
    return SR_OK;
}

sr_status replay_interleave(replay_records *records, const sr_replay_options *options,
                            sr_replay_stats *stats, sr_error *err) {
    size_t count = records->count;
    sr_status status = check_time_range(count, options, err);
    if (status != SR_OK) return status;
    size_t n = count ? count : 1;
    uint64_t *positions = malloc(n * sizeof *positions);
    replay_record *stream = malloc(n * sizeof *stream);
    if (!positions || !stream) {
        free(positions);
        free(stream);
        return sr_fail(err, SR_ERR_NOMEM, "out of memory merging %zu events", count);
    }
    group_by_user(records->items, count);
    stats->users = count_user_groups(records->items, count);
    shuffle_positions(positions, count, options->seed);
    deal_positions(records->items, positions, count);
    free(positions);
    /* The positions are a permutation of 0..count-1: place, no sort needed. */
    for (size_t i = 0; i < count; i++) stream[records->items[i].order] = records->items[i];
    for (size_t i = 0; i < count; i++)
        stream[i].time_ms = options->start_time_ms + (int64_t)i * options->time_step_ms;
    free(records->items);
    records->items = stream;
    records->cap = n;
    return SR_OK;
}

sr_status replay_order_by_time(replay_records *records, sr_replay_stats *stats,
                               sr_error *err) {
    (void)err;
    size_t count = records->count;
    if (count == 0) { /* items may be NULL, which qsort does not accept */
        stats->users = 0;
        return SR_OK;
    }
    qsort(records->items, count, sizeof *records->items, by_user_then_order);
    stats->users = count_user_groups(records->items, count);
    qsort(records->items, count, sizeof *records->items, by_time_then_order);
    return SR_OK;
}
