/*
 * schedule.c — when each user is scored (the policy in sr_serving.h).
 *
 * A binary min-heap of (due time, user) hints. An event pushes a hint when it
 * can make its user due: the user's first event ever (due now), the first
 * unscored event (due after the delay S), the K-th unscored event (due now).
 * Hints are never updated or deleted in place: a popped hint is checked
 * against the user's current fields (same user in the slot, still pending,
 * really due), so a user scored meanwhile, removed or replaced costs one
 * stale pop. A user owes at most three live hints, so the heap stays within
 * a few entries per pending user. Popping stops at the first hint in the
 * future: the work per call is the users due plus the stale hints before them.
 */
#include <stdlib.h>

#include "serve/serving_internal.h"

static bool earlier(const due_entry *a, const due_entry *b) { return a->due_ms < b->due_ms; }

static sr_status heap_push(sr_serving *sv, due_entry entry, sr_error *err) {
    if (sv->heap_len == sv->heap_cap) {
        size_t cap = sv->heap_cap ? 2 * sv->heap_cap : 1024;
        due_entry *grown = realloc(sv->heap, cap * sizeof *grown);
        if (!grown) return sr_fail(err, SR_ERR_NOMEM, "scoring scheduler: out of memory");
        sv->heap = grown;
        sv->heap_cap = cap;
    }
    size_t i = sv->heap_len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(&entry, &sv->heap[parent])) break;
        sv->heap[i] = sv->heap[parent];
        i = parent;
    }
    sv->heap[i] = entry;
    return SR_OK;
}

static due_entry heap_pop(sr_serving *sv) {
    due_entry top = sv->heap[0], last = sv->heap[--sv->heap_len];
    size_t i = 0, n = sv->heap_len;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && earlier(&sv->heap[child + 1], &sv->heap[child])) child++;
        if (!earlier(&sv->heap[child], &last)) break;
        sv->heap[i] = sv->heap[child];
        i = child;
    }
    if (n > 0) sv->heap[i] = last;
    return top;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* The earliest time the user may be scored, given its fields; INT64_MAX when
 * nothing makes it due (no pending event, or K not reached and no delay). */
static int64_t due_time(const sr_serving *sv, const sr_user_schedule_state *st, int64_t now_ms) {
    const sr_serving_config *c = &sv->config;
    if (st->events_since_scored == 0) return INT64_MAX;
    int64_t due = INT64_MAX;
    if (st->last_scored_at_ms == 0) due = now_ms; /* never scored: cold start */
    if (c->score_after_events && st->events_since_scored >= c->score_after_events) due = now_ms;
    if (c->score_max_delay_ms && st->pending_since_ms + c->score_max_delay_ms < due)
        due = st->pending_since_ms + c->score_max_delay_ms;
    if (due == INT64_MAX) return due;
    if (st->last_scored_at_ms) due = max64(due, st->last_scored_at_ms + c->score_min_interval_ms);
    return due;
}

sr_status schedule_after_event(sr_serving *sv, uint32_t slot, bool first_event, int64_t now_ms,
                               sr_error *err) {
    if (!sv->config.scoring) return SR_OK;
    sr_user_schedule_state st;
    sr_user_store_schedule_state(sv->store, slot, &st);
    const sr_serving_config *c = &sv->config;
    /* Only the events that change the answer of due_time push a hint. */
    bool pushes = first_event || st.events_since_scored == 1 ||
                  (c->score_after_events && st.events_since_scored == c->score_after_events);
    if (!pushes) return SR_OK;
    int64_t due = due_time(sv, &st, now_ms);
    if (due == INT64_MAX) return SR_OK;
    return heap_push(sv, (due_entry){.due_ms = due, .user_id = sr_user_store_user_id(sv->store, slot),
                                     .slot = slot}, err);
}

sr_status schedule_pop_due(sr_serving *sv, int64_t now_ms, bool *found, uint32_t *slot,
                           sr_error *err) {
    *found = false;
    while (sv->heap_len > 0 && sv->heap[0].due_ms <= now_ms) {
        due_entry e = heap_pop(sv);
        uint32_t held;
        if (!sr_user_store_find(sv->store, e.user_id, &held) || held != e.slot) continue;
        sr_user_schedule_state st;
        sr_user_store_schedule_state(sv->store, e.slot, &st);
        int64_t due = due_time(sv, &st, now_ms);
        if (due <= now_ms) {
            *found = true;
            *slot = e.slot;
            return SR_OK;
        }
        /* Pending but not due yet (the minimum interval): come back then. */
        if (due != INT64_MAX) {
            e.due_ms = due;
            sr_status status = heap_push(sv, e, err);
            if (status != SR_OK) return status;
        }
    }
    return SR_OK;
}

sr_status schedule_again(sr_serving *sv, uint32_t slot, int64_t due_ms, sr_error *err) {
    return heap_push(sv, (due_entry){.due_ms = due_ms, .user_id = sr_user_store_user_id(sv->store, slot),
                                     .slot = slot}, err);
}

int64_t sr_serving_next_due(const sr_serving *sv) {
    return sv->heap_len ? sv->heap[0].due_ms : INT64_MAX;
}
