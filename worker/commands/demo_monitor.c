/*
 * demo_monitor.c — the demo's view of the topics (demo_monitor.h).
 *
 * Per user it keeps the latest list and the last few items, in a fixed
 * open-addressing table sized for the demo's users (users beyond it are not
 * shown). The popularity baseline is the time-decayed ranking the worker
 * itself falls back to (sr_popularity), fed with the same live events: its
 * top-N before each event is the list a recommender that ignores the user
 * would show.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_hash.h"

#include "commands/demo_monitor.h"
#include "sr_codec.h"
#include "sr_popularity.h"
#include "sr_topic_reader.h"
#include "sr_topics.h"

#define RECENT 5
#define MAX_TOPN 50

typedef struct demo_user {
    int64_t id;
    uint32_t events;
    uint32_t list_len;
    int64_t list[MAX_TOPN];
    int64_t recent[RECENT];       /* a ring, the newest at (recent_count - 1) % RECENT */
    uint32_t recent_count;
} demo_user;

struct demo_monitor {
    sr_topic_reader *events, *lists;
    sr_codec *codec;
    sr_popularity *popularity;
    demo_user *users;
    bool *used;
    size_t mask, held, capacity;
    uint32_t topn;
    demo_figures figures;
    sr_recommended_item items[MAX_TOPN];
};

/* The user's entry, inserted when absent and there is room; NULL otherwise. */
static demo_user *user_of(demo_monitor *m, int64_t id, bool insert) {
    size_t i = (size_t)sr_mix64((uint64_t)id) & m->mask;
    while (m->used[i] && m->users[i].id != id) i = (i + 1) & m->mask;
    if (m->used[i]) return &m->users[i];
    if (!insert || m->held == m->capacity) return NULL;
    m->used[i] = true;
    m->users[i] = (demo_user){.id = id};
    m->held++;
    return &m->users[i];
}

sr_status demo_monitor_new(const char *bootstrap, uint32_t users, uint32_t topn,
                           demo_monitor **out, sr_error *err) {
    demo_monitor *m = calloc(1, sizeof *m);
    if (!m) return sr_fail(err, SR_ERR_NOMEM, "demo monitor: out of memory");
    m->topn = topn < MAX_TOPN ? topn : MAX_TOPN;
    m->capacity = users < 1024 ? 1024 : users;
    size_t table = 16;
    while (table < 2 * m->capacity) table *= 2;
    m->mask = table - 1;
    m->users = calloc(table, sizeof *m->users);
    m->used = calloc(table, sizeof *m->used);
    sr_status status = m->users && m->used ? SR_OK : sr_fail(err, SR_ERR_NOMEM, "demo monitor: out of memory");
    if (status == SR_OK) status = sr_codec_new(&m->codec, err);
    if (status == SR_OK) status = sr_popularity_new(&(sr_popularity_config){0}, &m->popularity, err);
    sr_topic_reader_options events = {.bootstrap = bootstrap, .topic = SR_TOPIC_EVENTS};
    sr_topic_reader_options lists = {.bootstrap = bootstrap, .topic = SR_TOPIC_RECOMMENDATIONS,
                                     .from_beginning = true};
    if (status == SR_OK) status = sr_topic_reader_new(&events, &m->events, err);
    if (status == SR_OK) status = sr_topic_reader_new(&lists, &m->lists, err);
    if (status != SR_OK) {
        demo_monitor_free(m);
        return sr_error_wrap(err, status, "demo monitor");
    }
    *out = m;
    return SR_OK;
}

void demo_monitor_free(demo_monitor *m) {
    if (!m) return;
    sr_topic_reader_free(m->events);
    sr_topic_reader_free(m->lists);
    sr_codec_free(m->codec);
    sr_popularity_free(m->popularity);
    free(m->users), free(m->used);
    free(m);
}

static bool listed(const int64_t *list, size_t n, int64_t item) {
    for (size_t i = 0; i < n; i++)
        if (list[i] == item) return true;
    return false;
}

static void take_event(demo_monitor *m, const rd_kafka_message_t *msg) {
    sr_user_event ev;
    sr_error err;
    if (!msg->payload || sr_codec_decode_event(m->codec, SR_WIRE_REGISTRY, msg->payload, msg->len,
                                               &ev, &err) != SR_OK)
        return;
    m->figures.events++;
    demo_user *u = user_of(m, ev.user_id, true);
    if (u && u->list_len) {
        m->figures.checked++;
        if (listed(u->list, u->list_len, ev.item_id)) m->figures.hits++;
    }
    /* The baseline: the popular items before this event, for every event. */
    size_t n = sr_popularity_top(m->popularity, m->topn, NULL, 0, m->items);
    for (size_t i = 0; i < n; i++)
        if (m->items[i].item_id == ev.item_id) m->figures.popular_hits++;
    (void)sr_popularity_add(m->popularity, ev.item_id, ev.event_type, ev.event_time_ms, &err);
    if (u) {
        u->events++;
        u->recent[u->recent_count++ % RECENT] = ev.item_id;
    }
}

static void take_list(demo_monitor *m, const rd_kafka_message_t *msg) {
    sr_recommendation rec;
    sr_recommended_item items[MAX_TOPN];
    sr_error err;
    if (!msg->payload ||
        sr_decode_recommendation(msg->payload, msg->len, &rec, items, MAX_TOPN, &err) != SR_OK)
        return;
    m->figures.recommendations++;
    demo_user *u = user_of(m, rec.user_id, true);
    if (!u) return;
    if (!u->list_len) m->figures.users_with_lists++;
    u->list_len = (uint32_t)(rec.item_count < m->topn ? rec.item_count : m->topn);
    for (uint32_t i = 0; i < u->list_len; i++) u->list[i] = rec.items[i].item_id;
}

/* Reads what one reader has ready, at most max records. */
static sr_status drain(demo_monitor *m, sr_topic_reader *reader, bool lists, int timeout_ms,
                       sr_error *err) {
    for (int n = 0; n < 100000; n++) {
        rd_kafka_message_t *msg;
        sr_status status = sr_topic_reader_poll(reader, n == 0 ? timeout_ms : 0, &msg, err);
        if (status != SR_OK) return status;
        if (!msg) return SR_OK;
        if (lists) take_list(m, msg);
        else take_event(m, msg);
        rd_kafka_message_destroy(msg);
    }
    return SR_OK;
}

sr_status demo_monitor_poll(demo_monitor *m, int timeout_ms, sr_error *err) {
    /* Lists first: an event should meet the newest list published before it. */
    sr_status status = drain(m, m->lists, true, timeout_ms / 2, err);
    if (status == SR_OK) status = drain(m, m->events, false, timeout_ms / 2, err);
    return status;
}

demo_figures demo_monitor_figures(const demo_monitor *m) { return m->figures; }

void demo_monitor_print_users(const demo_monitor *m, int n, int items) {
    const demo_user *shown[8] = {0};
    if (n > 8) n = 8;
    for (size_t i = 0; i <= m->mask; i++) {
        const demo_user *u = &m->users[i];
        if (!m->used[i] || !u->list_len || !u->events) continue;
        for (int k = 0; k < n; k++) {
            if (!shown[k] || u->events > shown[k]->events) {
                memmove(&shown[k + 1], &shown[k], (size_t)(n - k - 1) * sizeof *shown);
                shown[k] = u;
                break;
            }
        }
    }
    for (int k = 0; k < n && shown[k]; k++) {
        const demo_user *u = shown[k];
        printf("   user %-8" PRId64 " recent:", u->id);
        uint32_t r = u->recent_count < RECENT ? u->recent_count : RECENT;
        for (uint32_t i = 0; i < r; i++) printf(" %" PRId64, u->recent[(u->recent_count - r + i) % RECENT]);
        printf("  ->  top-%d:", items);
        for (int i = 0; i < items && (uint32_t)i < u->list_len; i++) printf(" %" PRId64, u->list[i]);
        printf("\n");
    }
}
