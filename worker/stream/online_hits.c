/*
 * online_hits.c — the online hit rate (online_hits.h) on a sample of users.
 *
 * Keeping every user's latest list would cost N ids per user, more than the
 * whole state budget; a fixed 1-in-`rate` sample of users (chosen by a hash
 * of the id, so the same users every time) is tracked exactly instead, which
 * estimates the rate without bias. Open addressing over a table sized for
 * `capacity` sampled users; beyond it, new users are not sampled.
 */
#include <stdlib.h>
#include <string.h>

#include "sr_hash.h"

#include "stream/online_hits.h"

struct online_hits {
    uint32_t rate, topn;
    size_t capacity, mask, held;
    int64_t *users;        /* table: user id per entry */
    bool *used;
    uint16_t *counts;      /* items in the entry's list */
    int64_t *items;        /* topn per entry */
    uint64_t hits, checked;
};

sr_status online_hits_new(uint32_t rate, uint32_t topn, size_t capacity, online_hits **out,
                          sr_error *err) {
    online_hits *h = calloc(1, sizeof *h);
    if (!h) return sr_fail(err, SR_ERR_NOMEM, "online hit rate: out of memory");
    size_t table = 16;
    while (table < 2 * capacity) table *= 2;
    h->rate = rate ? rate : 1;
    h->topn = topn;
    h->capacity = capacity;
    h->mask = table - 1;
    h->users = calloc(table, sizeof *h->users);
    h->used = calloc(table, sizeof *h->used);
    h->counts = calloc(table, sizeof *h->counts);
    h->items = calloc(table * topn, sizeof *h->items);
    if (!h->users || !h->used || !h->counts || !h->items) {
        online_hits_free(h);
        return sr_fail(err, SR_ERR_NOMEM, "online hit rate: out of memory");
    }
    *out = h;
    return SR_OK;
}

void online_hits_free(online_hits *h) {
    if (!h) return;
    free(h->users), free(h->used), free(h->counts), free(h->items);
    free(h);
}

static bool sampled(const online_hits *h, int64_t user_id) {
    return sr_mix64((uint64_t)user_id) % h->rate == 0;
}

/* The entry of user_id, or of the free place where it would go. */
static size_t entry_of(const online_hits *h, int64_t user_id) {
    size_t i = (size_t)sr_mix64((uint64_t)user_id ^ UINT64_C(0x9e3779b97f4a7c15)) & h->mask;
    while (h->used[i] && h->users[i] != user_id) i = (i + 1) & h->mask;
    return i;
}

void online_hits_event(online_hits *h, int64_t user_id, int64_t item_id) {
    if (!sampled(h, user_id)) return;
    size_t i = entry_of(h, user_id);
    if (!h->used[i]) return; /* no list published for this user yet */
    h->checked++;
    const int64_t *items = h->items + i * h->topn;
    for (uint16_t k = 0; k < h->counts[i]; k++)
        if (items[k] == item_id) {
            h->hits++;
            return;
        }
}

void online_hits_published(online_hits *h, int64_t user_id, const sr_recommended_item *items,
                           size_t n) {
    if (!sampled(h, user_id)) return;
    size_t i = entry_of(h, user_id);
    if (!h->used[i]) {
        if (h->held == h->capacity) return;
        h->used[i] = true;
        h->users[i] = user_id;
        h->held++;
    }
    if (n > h->topn) n = h->topn;
    for (size_t k = 0; k < n; k++) h->items[i * h->topn + k] = items[k].item_id;
    h->counts[i] = (uint16_t)n;
}

void online_hits_totals(const online_hits *h, uint64_t *hits, uint64_t *checked) {
    *hits = h->hits;
    *checked = h->checked;
}
