/*
 * sr_vocab.h — the model's vocabulary: arbitrary 64-bit item ids mapped to the
 * dense rows 0..count-1 of the model's item tables, and back.
 *
 *     sr_vocab vocab;
 *     sr_vocab_build(&vocab, ids, n, &err);          // distinct ids, any order
 *     int32_t row = sr_vocab_row(&vocab, item_id);   // SR_VOCAB_UNKNOWN if absent
 *     int64_t id  = vocab.ids[row];
 *
 * Rows are in ascending id order, so a vocabulary is the same whatever order
 * its ids came in. Lookups are read-only: any number of threads may share one.
 */
#ifndef SR_VOCAB_H
#define SR_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "sr_error.h"

#define SR_VOCAB_UNKNOWN (-1)
#define SR_VOCAB_MAX_ITEMS 100000000u

typedef struct sr_vocab {
    int64_t *ids;        /* count ids, ascending; row r holds ids[r] */
    uint32_t count;
    uint32_t *slots;     /* open-addressing index: row + 1, 0 = empty */
    uint32_t slot_mask;  /* slot count - 1 (a power of two) */
} sr_vocab;

/* Builds from n ids (duplicates allowed). SR_ERR_LIMIT beyond SR_VOCAB_MAX_ITEMS. */
sr_status sr_vocab_build(sr_vocab *vocab, const int64_t *ids, size_t n, sr_error *err);

/* The row of an id, or SR_VOCAB_UNKNOWN. */
int32_t sr_vocab_row(const sr_vocab *vocab, int64_t id);

void sr_vocab_free(sr_vocab *vocab);

#endif
