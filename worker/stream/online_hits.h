/*
 * online_hits.h — the online hit rate: the share of events whose item was in
 * the user's latest published top-N, estimated on a fixed sample of users.
 */
#ifndef SR_STREAM_ONLINE_HITS_H
#define SR_STREAM_ONLINE_HITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_error.h"
#include "sr_event.h"

typedef struct online_hits online_hits;

/* Samples 1 in rate users (rate 1 = every user), at most capacity of them,
 * lists of up to topn items. */
sr_status online_hits_new(uint32_t rate, uint32_t topn, size_t capacity, online_hits **out,
                          sr_error *err);
void online_hits_free(online_hits *h);

/* An event arrived: a hit when the user's latest list holds the item. */
void online_hits_event(online_hits *h, int64_t user_id, int64_t item_id);
/* A list was published for the user. */
void online_hits_published(online_hits *h, int64_t user_id, const sr_recommended_item *items,
                           size_t n);
void online_hits_totals(const online_hits *h, uint64_t *hits, uint64_t *checked);

#endif
