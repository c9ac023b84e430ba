/*
 * verify_recommendations.c — an independent check of what `streamrec worker`
 * published, for the integration tests (test_worker_*.sh).
 *
 *   verify_recommendations --events T --recommendations R --model FILE [--model FILE]...
 *                          [--topn N] [--exclude-recent] [--min-history H]
 *                          [--expect-version V] [--allow-popularity]
 *                          [--swap-boundary P:OFFSET,...] [--expect-latest]
 *                          [--min-recommendations K] [--wire registry|plain]
 *
 * It reads the whole event topic and the whole recommendation topic (every
 * partition, from the beginning to the end found at start, read_committed;
 * the worker must have stopped, so that everything it produced is there),
 * and checks every recommendation against the events and the model files:
 *
 *   key             the decimal user id
 *   source          source_partition/source_offset name an event of that user
 *                   on the event topic, and last_event_time is that event's time
 *   order           a user's lists carry strictly increasing source offsets
 *                   (an equal one is a duplicate: nothing was reprocessed)
 *   version         one of the models given (--expect-version: that one), or
 *                   0 (the popularity ranking) only with --allow-popularity and
 *                   only for a user with fewer than --min-history known events
 *                   in its window (the worker's rule); a model list needs at
 *                   least that many
 *   item count      min(N, catalogue - excluded) items
 *   recent items    with --exclude-recent, no item is in the user's window:
 *                   its last T (the model's window) known events up to and
 *                   including the source offset
 *   the list itself the user's events up to and including the source offset
 *                   (item rows and event types, in partition order, items the
 *                   model lacks skipped as the worker skips them) give the user
 *                   vector (sr_model_sequence_user_vectors), sr_model_score
 *                   scores the catalogue and sr_topn takes the top N with the
 *                   same exclusions. The published item at rank i must be an
 *                   item the model knows, not repeated, whose recomputed score
 *                   ties the recomputed i-th best within 1e-4 (so the same
 *                   items in the same order, except where scores tie), and its
 *                   published score must equal its recomputed one within 1e-3
 *                   relative (absolute below 1).
 *
 * Model swaps (--swap-boundary). With two models, the older one served every
 * event before the boundary (per partition: the first offset the newer model
 * saw) and the newer one every event from it on; the worker swapped while idle,
 * between the two. On a swap the worker does not replay a user's history: it
 * maps the user's window (the last T events the old model knew) to the new
 * vocabulary, dropping the items the new model lacks, recomputes the hidden
 * state from that window alone with the new model (model.swap.state=recompute,
 * the default), and steps the later events on top. So a list of the newer
 * version is recomputed from that sequence: the last T old-model-known events
 * before the boundary that the new model knows, then the user's new-model-known
 * events from the boundary to the source offset (if the models' state shapes
 * differ the worker starts from an empty state: the window part is empty). Its
 * recent items are the last T of that sequence. A list of the older version
 * whose source offset is past the boundary is a mismatch ("stale_version").
 * Without a boundary every list is recomputed from the user's whole history
 * with the model of its version.
 *
 * --expect-latest: every user with events on the topic got a list, and the
 * user's last list covers its last event (source offset = that event's).
 *
 * Prints one JSON line: lists checked, users, lists per version, post-swap
 * lists, the largest score difference seen, mismatches by kind and the first
 * few in detail. Exits 0 only if
 * nothing mismatched and at least --min-recommendations lists were checked;
 * 1 otherwise, 2 on a usage or Kafka error. The bootstrap address comes from
 * STREAMREC_BOOTSTRAP.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_codec.h"
#include "sr_model.h"
#include "sr_model_file.h"
#include "sr_topic_reader.h"
#include "topic_scan.h"

#define MAX_MODELS 8
#define MAX_PARTITIONS 1024
#define MAX_ITEMS_PER_LIST 10000
#define SHOWN_MISMATCHES 5
#define TIE_TOLERANCE 1e-4
#define SCORE_TOLERANCE 1e-3

/* ---- options ---- */

typedef struct options {
    const char *events_topic;
    const char *recommendations_topic;
    const char *model_paths[MAX_MODELS];
    int model_count;
    uint32_t topn;
    bool exclude_recent;
    uint32_t min_history;
    bool has_expected_version;
    int64_t expected_version;
    bool allow_popularity;
    bool has_boundary;
    int64_t boundary[MAX_PARTITIONS];  /* -1: the partition had no event before the swap */
    bool expect_latest;
    long long min_recommendations;
    sr_wire_format wire;
} options;

/* ---- what was read ---- */

typedef struct event {
    int64_t user_id;
    int64_t item_id;
    int64_t time_ms;
    int64_t offset;
    int32_t partition;
    uint8_t type;            /* FORGET: a forget-user control record, not an event */
} event;

/* A forget-user control record (header streamrec.control=forget-user, keyed
 * by the user id) among the user's events: the worker drops the user's state
 * there, so the user's later lists start from the events after it. */
#define FORGET 0xff
#define CONTROL_HEADER "streamrec.control"
#define CONTROL_FORGET_USER "forget-user"

/* A user's state after the events of its sequence stepped so far, kept from
 * one of its lists to the next: a user's lists come in source-offset order and
 * each list's sequence (stepped_sequence) extends the one before under the
 * same model, so each event is stepped once rather than once per list (a 5 M
 * event soak has millions of lists). Built from empty when that does not hold.
 * The same serving step code as sr_model_sequence_user_vectors, one event at a
 * time, so the vectors are the same. */
typedef struct stepped_state {
    int model;               /* the model index it was stepped with */
    size_t start;            /* the first event index of its sequence (after a forget) */
    long at;                 /* the last event index its sequence covers */
    size_t stepped;          /* sequence entries stepped */
    sr_user_state_view view;
} stepped_state;

/* A user's events are events[first .. first + count), sorted by partition and offset. */
typedef struct user {
    int64_t user_id;
    size_t first, count;
    long long lists;
    int32_t last_partition;  /* of the latest list read */
    int64_t last_offset;     /* -1 before the first list */
    stepped_state *state;    /* NULL before its first model list */
} user;

typedef struct mismatch_counts {
    long long key, unknown_user, source_event, last_event_time, duplicate, out_of_order,
        version, stale_version, popularity, min_history, item_count, recent_item, unknown_item,
        duplicate_item, rank, score, undecodable, no_recommendation, not_latest;
} mismatch_counts;

typedef struct verifier {
    const options *o;
    sr_model *models[MAX_MODELS];      /* ascending versions */
    int model_count;
    sr_model_workspace *workspaces[MAX_MODELS];
    event *events;
    size_t event_count, event_cap;
    long long events_read, events_not_applied, forgets, tombstones;
    user *users;
    size_t user_count;
    /* scratch */
    int32_t *rows;
    uint8_t *types;
    size_t rows_cap, types_cap;
    float *user_vector, *scores;
    sr_scored_row *top;
    /* figures */
    long long lists, model_lists, popularity_lists, post_swap_lists;
    double max_score_error;            /* largest |published - recomputed| of an item */
    long long version_lists[MAX_MODELS];
    mismatch_counts mismatches;
    long long mismatch_total;
    char shown[SHOWN_MISMATCHES][512];
    int shown_count;
} verifier;

static void *grow(void *array, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return array;
    size_t cap2 = *cap ? *cap : 1024;
    while (cap2 < need) cap2 *= 2;
    void *grown = realloc(array, cap2 * size);
    if (!grown) {
        fprintf(stderr, "verify_recommendations: out of memory\n");
        exit(2);
    }
    *cap = cap2;
    return grown;
}

/* Counts one mismatch of a kind and keeps the first few descriptions. */
static void mismatch(verifier *v, long long *kind, const char *fmt, ...) {
    (*kind)++;
    v->mismatch_total++;
    if (v->shown_count >= SHOWN_MISMATCHES) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->shown[v->shown_count++], sizeof v->shown[0], fmt, ap);
    va_end(ap);
}

/* ---- reading the topics ---- */

static int by_user_partition_offset(const void *a, const void *b) {
    const event *x = a, *y = b;
    if (x->user_id != y->user_id) return x->user_id < y->user_id ? -1 : 1;
    if (x->partition != y->partition) return x->partition < y->partition ? -1 : 1;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static sr_topic_reader *open_topic(const char *topic) {
    return topic_scan_open("verify_recommendations", topic);
}

static rd_kafka_message_t *next_record(sr_topic_reader *reader, const char *topic) {
    return topic_scan_next("verify_recommendations", reader, topic);
}

static bool key_is_user(const rd_kafka_message_t *msg, int64_t user_id) {
    char expected[24];
    int n = snprintf(expected, sizeof expected, "%" PRId64, user_id);
    return msg->key && msg->key_len == (size_t)n && memcmp(msg->key, expected, (size_t)n) == 0;
}

/* The user a forget-user control record names, if msg is one (no value: a
 * record with a value is an event, whatever its headers). */
static bool forget_record(const rd_kafka_message_t *msg, int64_t *user_id) {
    rd_kafka_headers_t *headers = NULL;
    const void *value = NULL;
    size_t size = 0;
    if (msg->payload || rd_kafka_message_headers(msg, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR || !headers ||
        rd_kafka_header_get_last(headers, CONTROL_HEADER, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return false;
    return value && size == strlen(CONTROL_FORGET_USER) && !memcmp(value, CONTROL_FORGET_USER, size) &&
           sr_key_user_id(msg->key, msg->key_len, user_id);
}

/* Reads every event, and the forget-user records among them. Records the
 * worker dead-letters (undecodable, key not the user id, other control
 * records) are counted and left out: they step no state. */
static void read_events(verifier *v) {
    sr_codec *codec;
    sr_error err;
    if (sr_codec_new(&codec, &err) != SR_OK) {
        fprintf(stderr, "verify_recommendations: %s\n", err.message);
        exit(2);
    }
    sr_topic_reader *reader = open_topic(v->o->events_topic);
    rd_kafka_message_t *msg;
    while ((msg = next_record(reader, v->o->events_topic))) {
        v->events_read++;
        sr_user_event e;
        int64_t forgotten;
        if (forget_record(msg, &forgotten) && msg->partition >= 0 && msg->partition < MAX_PARTITIONS) {
            v->forgets++;
            v->events = grow(v->events, &v->event_cap, v->event_count + 1, sizeof *v->events);
            v->events[v->event_count++] = (event){.user_id = forgotten, .offset = msg->offset,
                                                  .partition = msg->partition, .type = FORGET};
        } else if (!msg->payload ||
            sr_codec_decode_event(codec, v->o->wire, msg->payload, msg->len, &e, &err) != SR_OK ||
            !key_is_user(msg, e.user_id) || msg->partition < 0 || msg->partition >= MAX_PARTITIONS) {
            v->events_not_applied++;
        } else {
            v->events = grow(v->events, &v->event_cap, v->event_count + 1, sizeof *v->events);
            v->events[v->event_count++] = (event){
                .user_id = e.user_id, .item_id = e.item_id, .time_ms = e.event_time_ms,
                .offset = msg->offset, .partition = msg->partition, .type = (uint8_t)e.event_type};
        }
        rd_kafka_message_destroy(msg);
    }
    sr_topic_reader_free(reader);
    sr_codec_free(codec);
    qsort(v->events, v->event_count, sizeof *v->events, by_user_partition_offset);
    size_t cap = 0;
    for (size_t i = 0; i < v->event_count; i++) {
        if (i == 0 || v->events[i].user_id != v->events[i - 1].user_id) {
            v->users = grow(v->users, &cap, v->user_count + 1, sizeof *v->users);
            v->users[v->user_count++] = (user){.user_id = v->events[i].user_id, .first = i,
                                               .last_offset = -1};
        }
        v->users[v->user_count - 1].count++;
    }
}

static user *find_user(verifier *v, int64_t user_id) {
    size_t lo = 0, hi = v->user_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->users[mid].user_id == user_id) return &v->users[mid];
        if (v->users[mid].user_id < user_id) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* The index (in v->events) of the user's event at partition/offset, or -1. */
static long find_event(const verifier *v, const user *u, int32_t partition, int64_t offset) {
    size_t lo = u->first, hi = u->first + u->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const event *e = &v->events[mid];
        if (e->partition == partition && e->offset == offset) return (long)mid;
        if (e->partition < partition || (e->partition == partition && e->offset < offset)) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* ---- the sequence the worker stepped ---- */

static int model_index(const verifier *v, int64_t version) {
    for (int i = 0; i < v->model_count; i++)
        if (v->models[i]->version == version) return i;
    return -1;
}

static bool same_state_shape(const sr_model *a, const sr_model *b) {
    return sr_model_state_floats(&a->config) == sr_model_state_floats(&b->config) &&
           a->config.window == b->config.window && a->config.attention == b->config.attention &&
           a->config.hidden_dim == b->config.hidden_dim;
}

static bool before_boundary(const verifier *v, const event *e) {
    return e->offset < v->o->boundary[e->partition];
}

/* Where the user's state began for events[last]: after its last forget
 * before it, else at its first event. */
static size_t sequence_start(const verifier *v, const user *u, size_t last) {
    for (size_t i = last + 1; i > u->first; i--)
        if (v->events[i - 1].type == FORGET) return i;
    return u->first;
}

/* The rows and types the model of index m stepped for the user, up to and
 * including events[last] (see "Model swaps" above), into v->rows/v->types;
 * returns how many. */
static size_t stepped_sequence(verifier *v, const user *u, size_t last, int m) {
    v->rows = grow(v->rows, &v->rows_cap, u->count + 1, sizeof *v->rows);
    v->types = grow(v->types, &v->types_cap, u->count + 1, sizeof *v->types);
    const sr_model *model = v->models[m];
    size_t n = 0, start = sequence_start(v, u, last);
    if (v->o->has_boundary && m > 0) {
        /* The window at the swap: the last T events the previous model knew. */
        const sr_model *previous = v->models[m - 1];
        size_t T = previous->config.window, end = start;
        while (end <= last && before_boundary(v, &v->events[end])) end++;
        size_t window_first = end, known = 0;
        while (window_first > start && known < T) {
            window_first--;
            if (sr_vocab_row(&previous->vocab, v->events[window_first].item_id) != SR_VOCAB_UNKNOWN) known++;
        }
        for (size_t i = window_first; same_state_shape(previous, model) && i < end; i++) {
            const event *e = &v->events[i];
            if (sr_vocab_row(&previous->vocab, e->item_id) == SR_VOCAB_UNKNOWN) continue;
            int32_t row = sr_vocab_row(&model->vocab, e->item_id);
            if (row == SR_VOCAB_UNKNOWN) continue;
            v->rows[n] = row;
            v->types[n++] = e->type;
        }
        start = end;
    }
    for (size_t i = start; i <= last; i++) {
        int32_t row = sr_vocab_row(&model->vocab, v->events[i].item_id);
        if (row == SR_VOCAB_UNKNOWN) continue;
        v->rows[n] = row;
        v->types[n++] = v->events[i].type;
    }
    return n;
}

/* The index of the model serving when events[last] was stepped: with a
 * boundary, the older model before it and the newer from it; else the newest. */
static int serving_model_at(const verifier *v, const event *e) {
    if (v->o->has_boundary && v->model_count >= 2) return before_boundary(v, e) ? 0 : 1;
    return v->model_count - 1;
}

/* ---- one list ---- */

static bool tie_or_equal(double published, double expected, double tolerance) {
    double scale = fabs(expected) > 1.0 ? fabs(expected) : 1.0;
    return fabs(published - expected) <= tolerance * scale;
}

static void free_state(stepped_state *st) {
    if (!st) return;
    free(st->view.hidden), free(st->view.recent_rows), free(st->view.recent_types);
    free(st);
}

/* The user vector of the user's sequence v->rows/v->types[0..n) (that of
 * events[at] under model m) into v->user_vector, stepping on from the user's
 * kept state when it is a prefix of this sequence. */
static void user_vector(verifier *v, user *u, long at, int m, size_t n) {
    const sr_model *model = v->models[m];
    stepped_state *st = u->state;
    size_t start = sequence_start(v, u, (size_t)at);
    bool extends = st && st->model == m && st->start == start && st->at <= at && st->stepped <= n;
    if (!extends) {
        free_state(st);
        size_t T = model->config.window;
        st = u->state = calloc(1, sizeof *st);
        if (st) {
            st->view.hidden = calloc(sr_model_state_floats(&model->config) + 1, sizeof(float));
            st->view.recent_rows = calloc(T + 1, sizeof(int32_t));
            st->view.recent_types = calloc(T + 1, 1);
        }
        if (!st || !st->view.hidden || !st->view.recent_rows || !st->view.recent_types) {
            fprintf(stderr, "verify_recommendations: out of memory\n");
            exit(2);
        }
        st->model = m;
        st->start = start;
    }
    sr_user_state_view *view = &st->view;
    for (; st->stepped < n; st->stepped++)
        sr_model_step_batch(model, 1, &v->rows[st->stepped], &v->types[st->stepped], &view,
                            v->workspaces[m]);
    st->at = at;
    sr_model_user_vectors(model, 1, &view, v->user_vector, v->workspaces[m]);
}

/* Checks a model list against the recomputation (the strong check). */
static void check_model_list(verifier *v, const sr_recommendation *rec, user *u, long at,
                             int m) {
    const sr_model *model = v->models[m];
    uint32_t V = model->config.item_count, T = model->config.window;
    size_t n = stepped_sequence(v, u, (size_t)at, m);
    size_t window = n < T ? n : T;
    if (window < v->o->min_history) {
        mismatch(v, &v->mismatches.min_history,
                 "{\"kind\":\"min_history\",\"user\":%" PRId64 ",\"offset\":%" PRId64
                 ",\"version\":%" PRId64 ",\"window\":%zu}",
                 rec->user_id, rec->source_offset, rec->model_version, window);
        return;
    }
    const int32_t *exclude = v->rows + (n - window);
    size_t excluded = v->o->exclude_recent ? window : 0;
    user_vector(v, u, at, m, n);
    sr_model_score(model, 1, v->user_vector, v->scores);
    /* Excluded rows may repeat; count the distinct ones for the expected size. */
    size_t distinct_excluded = 0;
    for (size_t i = 0; i < excluded; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) seen = exclude[j] == exclude[i];
        distinct_excluded += !seen;
    }
    size_t expected_count = V - distinct_excluded < v->o->topn ? V - distinct_excluded : v->o->topn;
    size_t best = sr_topn(v->scores, V, exclude, excluded, v->o->topn, v->top);
    if (rec->item_count != expected_count || best != expected_count) {
        mismatch(v, &v->mismatches.item_count,
                 "{\"kind\":\"item_count\",\"user\":%" PRId64 ",\"offset\":%" PRId64
                 ",\"items\":%zu,\"expected\":%zu}",
                 rec->user_id, rec->source_offset, rec->item_count, expected_count);
        return;
    }
    for (size_t i = 0; i < rec->item_count; i++) {
        const sr_recommended_item *item = &rec->items[i];
        int32_t row = sr_vocab_row(&model->vocab, item->item_id);
        if (row == SR_VOCAB_UNKNOWN) {
            mismatch(v, &v->mismatches.unknown_item,
                     "{\"kind\":\"unknown_item\",\"user\":%" PRId64 ",\"offset\":%" PRId64
                     ",\"rank\":%zu,\"item\":%" PRId64 "}",
                     rec->user_id, rec->source_offset, i, item->item_id);
            return;
        }
        for (size_t j = 0; j < i; j++)
            if (rec->items[j].item_id == item->item_id) {
                mismatch(v, &v->mismatches.duplicate_item,
                         "{\"kind\":\"duplicate_item\",\"user\":%" PRId64 ",\"offset\":%" PRId64
                         ",\"rank\":%zu,\"item\":%" PRId64 "}",
                         rec->user_id, rec->source_offset, i, item->item_id);
                return;
            }
        for (size_t j = 0; j < excluded; j++)
            if (exclude[j] == row) {
                mismatch(v, &v->mismatches.recent_item,
                         "{\"kind\":\"recent_item\",\"user\":%" PRId64 ",\"offset\":%" PRId64
                         ",\"rank\":%zu,\"item\":%" PRId64 "}",
                         rec->user_id, rec->source_offset, i, item->item_id);
                return;
            }
        double recomputed = v->scores[row], ith_best = v->top[i].score;
        if (fabs(item->score - recomputed) > v->max_score_error)
            v->max_score_error = fabs(item->score - recomputed);
        if (!tie_or_equal(item->score, recomputed, SCORE_TOLERANCE)) {
            mismatch(v, &v->mismatches.score,
                     "{\"kind\":\"score\",\"user\":%" PRId64 ",\"offset\":%" PRId64
                     ",\"version\":%" PRId64 ",\"rank\":%zu,\"item\":%" PRId64
                     ",\"published\":%.6g,\"recomputed\":%.6g}",
                     rec->user_id, rec->source_offset, rec->model_version, i, item->item_id,
                     item->score, recomputed);
            return;
        }
        if (fabs(recomputed - ith_best) > TIE_TOLERANCE) {
            mismatch(v, &v->mismatches.rank,
                     "{\"kind\":\"rank\",\"user\":%" PRId64 ",\"offset\":%" PRId64
                     ",\"version\":%" PRId64 ",\"rank\":%zu,\"item\":%" PRId64
                     ",\"score\":%.6g,\"expected_item\":%" PRId64 ",\"expected_score\":%.6g}",
                     rec->user_id, rec->source_offset, rec->model_version, i, item->item_id,
                     recomputed, model->vocab.ids[v->top[i].row], ith_best);
            return;
        }
    }
}

/* A popularity list (version 0): only where the worker falls back to it. */
static void check_popularity_list(verifier *v, const sr_recommendation *rec, const user *u,
                                  long at) {
    v->popularity_lists++;
    if (!v->o->allow_popularity) {
        mismatch(v, &v->mismatches.popularity,
                 "{\"kind\":\"popularity\",\"user\":%" PRId64 ",\"offset\":%" PRId64 "}",
                 rec->user_id, rec->source_offset);
        return;
    }
    if (v->model_count > 0) {
        int m = serving_model_at(v, &v->events[at]);
        size_t n = stepped_sequence(v, u, (size_t)at, m);
        size_t T = v->models[m]->config.window, window = n < T ? n : T;
        if (window >= v->o->min_history) {
            mismatch(v, &v->mismatches.popularity,
                     "{\"kind\":\"popularity\",\"user\":%" PRId64 ",\"offset\":%" PRId64
                     ",\"window\":%zu,\"why\":\"the user had enough known history\"}",
                     rec->user_id, rec->source_offset, window);
            return;
        }
    }
    if (rec->item_count == 0 || rec->item_count > v->o->topn)
        mismatch(v, &v->mismatches.item_count,
                 "{\"kind\":\"item_count\",\"user\":%" PRId64 ",\"offset\":%" PRId64
                 ",\"items\":%zu,\"popularity\":true}",
                 rec->user_id, rec->source_offset, rec->item_count);
}

static void check_list(verifier *v, const rd_kafka_message_t *msg, const sr_recommendation *rec) {
    v->lists++;
    if (!key_is_user(msg, rec->user_id))
        mismatch(v, &v->mismatches.key,
                 "{\"kind\":\"key\",\"user\":%" PRId64 ",\"key\":\"%.*s\"}", rec->user_id,
                 msg->key ? (int)(msg->key_len > 40 ? 40 : msg->key_len) : 0,
                 msg->key ? (const char *)msg->key : "");
    user *u = find_user(v, rec->user_id);
    if (!u) {
        mismatch(v, &v->mismatches.unknown_user,
                 "{\"kind\":\"unknown_user\",\"user\":%" PRId64 "}", rec->user_id);
        return;
    }
    long at = find_event(v, u, rec->source_partition, rec->source_offset);
    if (at < 0) {
        mismatch(v, &v->mismatches.source_event,
                 "{\"kind\":\"source_event\",\"user\":%" PRId64 ",\"partition\":%" PRId32
                 ",\"offset\":%" PRId64 "}",
                 rec->user_id, rec->source_partition, rec->source_offset);
        return;
    }
    if (v->events[at].time_ms != rec->last_event_time_ms)
        mismatch(v, &v->mismatches.last_event_time,
                 "{\"kind\":\"last_event_time\",\"user\":%" PRId64 ",\"offset\":%" PRId64
                 ",\"published\":%" PRId64 ",\"event\":%" PRId64 "}",
                 rec->user_id, rec->source_offset, rec->last_event_time_ms, v->events[at].time_ms);
    if (u->last_offset >= 0 && u->last_partition == rec->source_partition) {
        if (rec->source_offset == u->last_offset)
            mismatch(v, &v->mismatches.duplicate,
                     "{\"kind\":\"duplicate\",\"user\":%" PRId64 ",\"offset\":%" PRId64 "}",
                     rec->user_id, rec->source_offset);
        else if (rec->source_offset < u->last_offset)
            mismatch(v, &v->mismatches.out_of_order,
                     "{\"kind\":\"out_of_order\",\"user\":%" PRId64 ",\"offset\":%" PRId64
                     ",\"after\":%" PRId64 "}",
                     rec->user_id, rec->source_offset, u->last_offset);
    }
    u->lists++;
    u->last_partition = rec->source_partition;
    u->last_offset = rec->source_offset;

    if (rec->model_version == 0) {
        check_popularity_list(v, rec, u, at);
        return;
    }
    int m = model_index(v, rec->model_version);
    if (m < 0 || (v->o->has_expected_version && rec->model_version != v->o->expected_version)) {
        mismatch(v, &v->mismatches.version,
                 "{\"kind\":\"version\",\"user\":%" PRId64 ",\"offset\":%" PRId64
                 ",\"version\":%" PRId64 "}",
                 rec->user_id, rec->source_offset, rec->model_version);
        return;
    }
    v->model_lists++;
    v->version_lists[m]++;
    if (v->o->has_boundary && m == 0 && !before_boundary(v, &v->events[at])) {
        mismatch(v, &v->mismatches.stale_version,
                 "{\"kind\":\"stale_version\",\"user\":%" PRId64 ",\"partition\":%" PRId32
                 ",\"offset\":%" PRId64 ",\"version\":%" PRId64 "}",
                 rec->user_id, rec->source_partition, rec->source_offset, rec->model_version);
        return;
    }
    if (v->o->has_boundary && m > 0) v->post_swap_lists++;
    check_model_list(v, rec, u, at, m);
}

static void read_recommendations(verifier *v) {
    sr_recommended_item *items = malloc(MAX_ITEMS_PER_LIST * sizeof *items);
    if (!items) exit(2);
    sr_topic_reader *reader = open_topic(v->o->recommendations_topic);
    rd_kafka_message_t *msg;
    while ((msg = next_record(reader, v->o->recommendations_topic))) {
        sr_recommendation rec;
        sr_error err;
        int64_t user_id;
        if (!msg->payload && sr_key_user_id(msg->key, msg->key_len, &user_id)) {
            v->tombstones++; /* a forgotten user's: its lists are gone */
        } else if (!msg->payload || sr_decode_recommendation(msg->payload, msg->len, &rec, items,
                                                             MAX_ITEMS_PER_LIST, &err) != SR_OK) {
            v->lists++;
            mismatch(v, &v->mismatches.undecodable,
                     "{\"kind\":\"undecodable\",\"partition\":%" PRId32 ",\"offset\":%" PRId64 "}",
                     msg->partition, msg->offset);
        } else {
            check_list(v, msg, &rec);
        }
        rd_kafka_message_destroy(msg);
    }
    sr_topic_reader_free(reader);
    free(items);
}

/* Every user got a list; with --expect-latest the last covers the last event.
 * A user whose last record is a forget owes no list after it, and may have
 * had none at all (forgotten before its first scoring). */
static void check_users(verifier *v) {
    for (size_t i = 0; i < v->user_count; i++) {
        const user *u = &v->users[i];
        const event *last = &v->events[u->first + u->count - 1];
        if (last->type == FORGET) continue;
        if (u->lists == 0)
            mismatch(v, &v->mismatches.no_recommendation,
                     "{\"kind\":\"no_recommendation\",\"user\":%" PRId64 ",\"events\":%zu}",
                     u->user_id, u->count);
        else if (v->o->expect_latest &&
                 (u->last_partition != last->partition || u->last_offset != last->offset))
            mismatch(v, &v->mismatches.not_latest,
                     "{\"kind\":\"not_latest\",\"user\":%" PRId64 ",\"last_list_offset\":%" PRId64
                     ",\"last_event_offset\":%" PRId64 "}",
                     u->user_id, u->last_offset, last->offset);
    }
}

/* ---- setup and report ---- */

static int by_version(const void *a, const void *b) {
    const sr_model *x = *(sr_model *const *)a, *y = *(sr_model *const *)b;
    return (x->version > y->version) - (x->version < y->version);
}

static void load_models(verifier *v) {
    size_t most_items = 1, widest = 1;
    for (int i = 0; i < v->o->model_count; i++) {
        sr_error err;
        if (sr_model_load_file(v->o->model_paths[i], &v->models[i], NULL, &err) != SR_OK) {
            fprintf(stderr, "verify_recommendations: %s\n", err.message);
            exit(2);
        }
        v->model_count++;
        if (v->models[i]->config.item_count > most_items) most_items = v->models[i]->config.item_count;
        if (v->models[i]->config.embed_dim > widest) widest = v->models[i]->config.embed_dim;
    }
    qsort(v->models, (size_t)v->model_count, sizeof *v->models, by_version);
    for (int i = 1; i < v->model_count; i++)
        if (v->models[i]->version == v->models[i - 1]->version) {
            fprintf(stderr, "verify_recommendations: two models of version %" PRId64 "\n",
                    v->models[i]->version);
            exit(2);
        }
    for (int i = 0; i < v->model_count; i++) {
        sr_error err;
        if (sr_model_workspace_new(&v->models[i]->config, 1, &v->workspaces[i], &err) != SR_OK) {
            fprintf(stderr, "verify_recommendations: %s\n", err.message);
            exit(2);
        }
    }
    v->user_vector = malloc(widest * sizeof *v->user_vector);
    v->scores = malloc(most_items * sizeof *v->scores);
    v->top = malloc(v->o->topn * sizeof *v->top);
    if (!v->user_vector || !v->scores || !v->top) exit(2);
}

static void report(const verifier *v) {
    size_t recommended = 0;
    for (size_t i = 0; i < v->user_count; i++) recommended += v->users[i].lists > 0;
    const mismatch_counts *c = &v->mismatches;
    printf("{\"recommendations\":%lld,\"model_lists\":%lld,\"popularity_lists\":%lld,"
           "\"post_swap_lists\":%lld,\"max_score_error\":%.3g,\"events\":%zu,"
           "\"events_not_applied\":%lld,\"forgets\":%lld,\"tombstones\":%lld,"
           "\"users_with_events\":%zu,\"users_recommended\":%zu,\"versions\":{",
           v->lists, v->model_lists, v->popularity_lists, v->post_swap_lists, v->max_score_error,
           v->event_count - (size_t)v->forgets, v->events_not_applied, v->forgets, v->tombstones,
           v->user_count, recommended);
    for (int i = 0; i < v->model_count; i++)
        printf("%s\"%" PRId64 "\":%lld", i ? "," : "", v->models[i]->version, v->version_lists[i]);
    printf("},\"mismatches\":%lld,\"by_kind\":{\"key\":%lld,\"unknown_user\":%lld,"
           "\"source_event\":%lld,\"last_event_time\":%lld,\"duplicate\":%lld,"
           "\"out_of_order\":%lld,\"version\":%lld,\"stale_version\":%lld,\"popularity\":%lld,"
           "\"min_history\":%lld,\"item_count\":%lld,\"recent_item\":%lld,\"unknown_item\":%lld,"
           "\"duplicate_item\":%lld,\"rank\":%lld,\"score\":%lld,\"undecodable\":%lld,"
           "\"no_recommendation\":%lld,\"not_latest\":%lld},\"first\":[",
           v->mismatch_total, c->key, c->unknown_user, c->source_event, c->last_event_time,
           c->duplicate, c->out_of_order, c->version, c->stale_version, c->popularity,
           c->min_history, c->item_count, c->recent_item, c->unknown_item, c->duplicate_item,
           c->rank, c->score, c->undecodable, c->no_recommendation, c->not_latest);
    for (int i = 0; i < v->shown_count; i++) printf("%s%s", i ? "," : "", v->shown[i]);
    printf("]}\n");
}

static void usage(void) {
    fprintf(stderr,
            "usage: verify_recommendations --events TOPIC --recommendations TOPIC --model FILE...\n"
            "       [--topn N] [--exclude-recent] [--min-history H] [--expect-version V]\n"
            "       [--allow-popularity] [--swap-boundary P:OFFSET,...] [--expect-latest]\n"
            "       [--min-recommendations K] [--wire registry|plain]\n");
    exit(2);
}

/* "P:OFFSET,..." into boundary[] (partitions not named: -1, i.e. none before). */
static void parse_boundary(const char *text, options *o) {
    for (int p = 0; p < MAX_PARTITIONS; p++) o->boundary[p] = -1;
    const char *s = text;
    while (*s) {
        char *end;
        long p = strtol(s, &end, 10);
        if (end == s || *end != ':' || p < 0 || p >= MAX_PARTITIONS) usage();
        s = end + 1;
        long long offset = strtoll(s, &end, 10);
        if (end == s || offset < 0) usage();
        o->boundary[p] = offset;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') usage();
    }
    o->has_boundary = true;
}

static void parse_options(int argc, char **argv, options *o) {
    static const struct option longs[] = {
        {"events", required_argument, NULL, 'e'},
        {"recommendations", required_argument, NULL, 'r'},
        {"model", required_argument, NULL, 'm'},
        {"topn", required_argument, NULL, 'n'},
        {"exclude-recent", no_argument, NULL, 'x'},
        {"min-history", required_argument, NULL, 'h'},
        {"expect-version", required_argument, NULL, 'v'},
        {"allow-popularity", no_argument, NULL, 'p'},
        {"swap-boundary", required_argument, NULL, 'b'},
        {"expect-latest", no_argument, NULL, 'l'},
        {"min-recommendations", required_argument, NULL, 'k'},
        {"wire", required_argument, NULL, 'w'},
        {NULL, 0, NULL, 0},
    };
    *o = (options){.topn = 20, .min_history = 1, .min_recommendations = 1, .wire = SR_WIRE_REGISTRY};
    for (int c; (c = getopt_long(argc, argv, "", longs, NULL)) != -1;) {
        switch (c) {
        case 'e': o->events_topic = optarg; break;
        case 'r': o->recommendations_topic = optarg; break;
        case 'm':
            if (o->model_count == MAX_MODELS) usage();
            o->model_paths[o->model_count++] = optarg;
            break;
        case 'n': o->topn = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'x': o->exclude_recent = true; break;
        case 'h': o->min_history = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'v':
            o->has_expected_version = true;
            o->expected_version = strtoll(optarg, NULL, 10);
            break;
        case 'p': o->allow_popularity = true; break;
        case 'b': parse_boundary(optarg, o); break;
        case 'l': o->expect_latest = true; break;
        case 'k': o->min_recommendations = strtoll(optarg, NULL, 10); break;
        case 'w':
            if (sr_wire_format_parse(optarg) < 0) usage();
            o->wire = (sr_wire_format)sr_wire_format_parse(optarg);
            break;
        default: usage();
        }
    }
    if (optind != argc || !o->events_topic || !o->recommendations_topic || o->model_count == 0 ||
        o->topn == 0 || o->topn > MAX_ITEMS_PER_LIST || o->min_history == 0)
        usage();
    if (o->has_boundary && o->model_count != 2) {
        fprintf(stderr, "verify_recommendations: --swap-boundary needs exactly two models\n");
        exit(2);
    }
}

int main(int argc, char **argv) {
    options o;
    parse_options(argc, argv, &o);
    verifier v = {.o = &o};
    load_models(&v);
    read_events(&v);
    read_recommendations(&v);
    check_users(&v);
    report(&v);
    bool ok = v.mismatch_total == 0 && v.lists >= o.min_recommendations;
    if (v.lists < o.min_recommendations)
        fprintf(stderr, "verify_recommendations: %lld lists checked, fewer than %lld\n", v.lists,
                o.min_recommendations);
    for (int i = 0; i < v.model_count; i++) {
        sr_model_workspace_free(v.workspaces[i]);
        sr_model_free(v.models[i]);
    }
    for (size_t i = 0; i < v.user_count; i++) free_state(v.users[i].state);
    free(v.events), free(v.users), free(v.rows), free(v.types);
    free(v.user_vector), free(v.scores), free(v.top);
    return ok ? 0 : 1;
}
