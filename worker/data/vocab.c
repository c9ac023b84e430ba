/*
 * vocab.c — the vocabulary of sr_vocab.h: 64-bit item ids to dense rows.
 *
 * The ids are sorted and made distinct, so row r is the r-th smallest id and a
 * vocabulary does not depend on the order its ids came in. Lookups go through an
 * open-addressing table (linear probing) of at least twice as many slots as ids,
 * each slot holding row + 1 (0 = empty); an id hashes through the splitmix64
 * finaliser, so consecutive ids (the usual 1..N) spread over the table.
 *
 * Memory: 8 bytes an id plus 4 bytes a slot (8-16 bytes an id), and while
 * building, one copy of the input ids.
 */
#include <stdlib.h>
#include <string.h>

#include "sr_hash.h"
#include "sr_vocab.h"

static uint64_t hash_id(int64_t id) { return sr_mix64((uint64_t)id); }

static int compare_ids(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts ids in place and moves the distinct ones to the front; returns their count. */
static size_t sort_distinct(int64_t *ids, size_t n) {
    if (n == 0) return 0;
    qsort(ids, n, sizeof *ids, compare_ids);
    size_t distinct = 1;
    for (size_t i = 1; i < n; i++)
        if (ids[i] != ids[distinct - 1]) ids[distinct++] = ids[i];
    return distinct;
}

/* Fills the index of a vocabulary whose ids are set. Cannot fail once allocated. */
static void index_rows(sr_vocab *vocab) {
    for (uint32_t row = 0; row < vocab->count; row++) {
        uint64_t slot = hash_id(vocab->ids[row]) & vocab->slot_mask;
        while (vocab->slots[slot] != 0) slot = (slot + 1) & vocab->slot_mask;
        vocab->slots[slot] = row + 1;
    }
}

/* Builds from n ids in any order, duplicates allowed. On failure *vocab is left
 * empty (safe to free); on success the caller frees it with sr_vocab_free. */
sr_status sr_vocab_build(sr_vocab *vocab, const int64_t *ids, size_t n, sr_error *err) {
    memset(vocab, 0, sizeof *vocab);
    if (n > 0 && !ids) return sr_fail(err, SR_ERR_INVALID_ARG, "vocabulary: ids is NULL");
    if (n > SIZE_MAX / sizeof *ids)
        return sr_fail(err, SR_ERR_LIMIT, "vocabulary: %zu ids is more than memory can hold", n);
    int64_t *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted) return sr_fail(err, SR_ERR_NOMEM, "vocabulary: no memory for %zu ids", n);
    if (n) memcpy(sorted, ids, n * sizeof *ids);
    size_t count = sort_distinct(sorted, n);
    if (count > SR_VOCAB_MAX_ITEMS) {
        free(sorted);
        return sr_fail(err, SR_ERR_LIMIT, "vocabulary: %zu distinct items, more than the limit %u",
                       count, SR_VOCAB_MAX_ITEMS);
    }
    /* Give back the room the duplicates took (shrinking cannot really fail). */
    int64_t *shrunk = realloc(sorted, (count ? count : 1) * sizeof *sorted);
    if (shrunk) sorted = shrunk;

    uint64_t slots = 2;
    while (slots < 2 * (uint64_t)count) slots <<= 1;
    vocab->slots = calloc(slots, sizeof *vocab->slots);
    if (!vocab->slots) {
        free(sorted);
        return sr_fail(err, SR_ERR_NOMEM, "vocabulary: no memory for %zu items", count);
    }
    vocab->ids = sorted;
    vocab->count = (uint32_t)count;
    vocab->slot_mask = (uint32_t)(slots - 1);
    index_rows(vocab);
    return SR_OK;
}

/* The row of id, or SR_VOCAB_UNKNOWN; also SR_VOCAB_UNKNOWN on an empty or
 * zeroed vocabulary. Never fails, never writes. */
int32_t sr_vocab_row(const sr_vocab *vocab, int64_t id) {
    if (!vocab->slots) return SR_VOCAB_UNKNOWN;
    uint64_t slot = hash_id(id) & vocab->slot_mask;
    for (;;) {
        uint32_t entry = vocab->slots[slot];
        if (entry == 0) return SR_VOCAB_UNKNOWN;
        if (vocab->ids[entry - 1] == id) return (int32_t)(entry - 1);
        slot = (slot + 1) & vocab->slot_mask;
    }
}

/* Releases what sr_vocab_build allocated and zeroes the struct; safe twice. */
void sr_vocab_free(sr_vocab *vocab) {
    if (!vocab) return;
    free(vocab->ids);
    free(vocab->slots);
    memset(vocab, 0, sizeof *vocab);
}
