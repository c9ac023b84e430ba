/*
 * verify_states.c — checks the worker's state changelog against its input,
 * for the exactly-once tests (test_worker_exactly_once.sh and the chaos tests).
 *
 *   verify_states --events T --changelog C [--reference R] [--wire registry|plain]
 *
 * Reads the whole event topic and the whole changelog (read_committed; the
 * workers must have stopped) and checks, for every user with events: the last
 * changelog record for it (in its partition's order; a tombstone removes it)
 * exists, sits on the user's event partition, and carries applied_events =
 * the user's number of events, sequence_hash = the running hash of its
 * (item, event type) sequence (sr_user_store_hash_step from
 * SR_USER_STORE_HASH_SEED) and source_offset = its last event's offset; and
 * that no user without events has a state. Events the worker dead-letters
 * (undecodable, key not the user id) step nothing and are left out. A
 * forget-user control record (header streamrec.control) starts its user
 * over: only the events after it count, and with none the user must have no
 * state (its last changelog record a tombstone).
 *
 * --reference R: another changelog of the same events and model, written by
 * one uninterrupted worker: every user's final hidden state must equal its
 * final hidden state there within 1e-5 (the chaos tests: crashes, restores
 * and rebalances must not change the arithmetic).
 *
 * Prints one JSON line: events, users, states (records read), and the counts
 * of each kind of mismatch; exits 0 when there is none, 1 otherwise, 2 when a
 * topic cannot be read.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_codec.h"
#include "sr_user_store.h"
#include "topic_scan.h"

#define TOOL "verify_states"

typedef struct user_sum {
    int used;
    int64_t user_id;
    uint64_t events;
    uint64_t hash;
    int64_t last_offset;
    int32_t partition;
    /* the changelog's last word on the user */
    int has_state;
    uint64_t applied, state_hash;
    int64_t state_offset;
    int32_t state_partition;
    float *hidden, *reference;    /* the final hidden states, here and in the reference */
    size_t hidden_count, reference_count;
} user_sum;

/* Open addressing over user ids: a few hundred thousand users. */
typedef struct user_table {
    user_sum *slots;
    size_t cap, count;
} user_table;

static user_sum *user_at(user_table *t, int64_t user_id, int create) {
    if (create && (t->count + 1) * 2 > t->cap) {
        user_table grown = {calloc(t->cap ? 2 * t->cap : 1024, sizeof(user_sum)),
                            t->cap ? 2 * t->cap : 1024, 0};
        if (!grown.slots) exit(2);
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i].used) *user_at(&grown, t->slots[i].user_id, 1) = t->slots[i];
        free(t->slots);
        *t = grown;
    }
    if (!t->cap) return NULL;
    size_t mask = t->cap - 1, i = (size_t)((uint64_t)user_id * UINT64_C(0x9e3779b97f4a7c15) >> 17) & mask;
    while (t->slots[i].used) {
        if (t->slots[i].user_id == user_id) return &t->slots[i];
        i = (i + 1) & mask;
    }
    if (!create) return NULL;
    t->count++;
    t->slots[i] = (user_sum){.used = 1, .user_id = user_id, .hash = SR_USER_STORE_HASH_SEED,
                             .partition = -1};
    return &t->slots[i];
}

static int key_is(const rd_kafka_message_t *msg, int64_t user_id) {
    return msg->key && sr_key_is_user_id(msg->key, msg->key_len, user_id);
}

/* A forget-user control record (header streamrec.control, no value) keyed by
 * a user id; a record with a value is an event, whatever its headers. */
static int is_forget(const rd_kafka_message_t *msg, int64_t *user_id) {
    rd_kafka_headers_t *headers;
    const void *value;
    size_t len;
    if (msg->payload || rd_kafka_message_headers(msg, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(headers, "streamrec.control", &value, &len) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        !value || len != 11 || memcmp(value, "forget-user", 11))
        return 0;
    return sr_key_user_id(msg->key, msg->key_len, user_id);
}

/* Reads a changelog: the last record per user wins, a tombstone removes.
 * reference: the hidden states go to the reference side. */
static void read_changelog(const char *topic, user_table *users, int reference, long long *states,
                           long long *undecodable) {
    static float hidden[1 << 16];
    static int64_t items[1024];
    static uint8_t types[1024];
    sr_error err;
    sr_topic_reader *reader = topic_scan_open(TOOL, topic);
    rd_kafka_message_t *msg;
    while ((msg = topic_scan_next(TOOL, reader, topic))) {
        (*states)++;
        int64_t user_id = 0;
        sr_user_state_record st;
        if (!msg->payload) {
            user_sum *u = sr_key_user_id(msg->key, msg->key_len, &user_id) ? user_at(users, user_id, 0) : NULL;
            if (u && reference) u->reference_count = 0;
            else if (u) u->has_state = 0;
        } else if (sr_decode_user_state(msg->payload, msg->len, &st, hidden, sizeof hidden / sizeof *hidden,
                                        items, types, 1024, &err) != SR_OK || !key_is(msg, st.user_id)) {
            (*undecodable)++;
        } else {
            user_sum *u = user_at(users, st.user_id, 1);
            float **keep = reference ? &u->reference : &u->hidden;
            *keep = realloc(*keep, (st.hidden_count + 1) * sizeof **keep);
            if (!*keep) exit(2);
            memcpy(*keep, st.hidden, st.hidden_count * sizeof **keep);
            if (reference) {
                u->reference_count = st.hidden_count;
            } else {
                u->hidden_count = st.hidden_count;
                u->has_state = 1;
                u->applied = st.applied_events;
                u->state_hash = st.sequence_hash;
                u->state_offset = st.source_offset;
                u->state_partition = msg->partition;
            }
        }
        rd_kafka_message_destroy(msg);
    }
    sr_topic_reader_free(reader);
}

/* The largest difference between two hidden states (infinity if their sizes differ). */
static double hidden_difference(const user_sum *u) {
    if (u->hidden_count != u->reference_count || !u->reference_count) return INFINITY;
    double worst = 0;
    for (size_t i = 0; i < u->hidden_count; i++) {
        double d = fabs((double)u->hidden[i] - u->reference[i]);
        if (d > worst) worst = d;
    }
    return worst;
}

int main(int argc, char **argv) {
    const char *events_topic = NULL, *changelog_topic = NULL, *reference_topic = NULL;
    sr_wire_format wire = SR_WIRE_REGISTRY;
    static const struct option options[] = {{"events", required_argument, NULL, 'e'},
                                            {"changelog", required_argument, NULL, 'c'},
                                            {"wire", required_argument, NULL, 'w'},
                                            {"reference", required_argument, NULL, 'r'},
                                            {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == 'e') events_topic = optarg;
        else if (opt == 'c') changelog_topic = optarg;
        else if (opt == 'r') reference_topic = optarg;
        else if (opt == 'w' && sr_wire_format_parse(optarg) >= 0) wire = (sr_wire_format)sr_wire_format_parse(optarg);
        else return fprintf(stderr, "usage: " TOOL " --events T --changelog C [--reference R] [--wire registry|plain]\n"), 2;
    }
    if (!events_topic || !changelog_topic)
        return fprintf(stderr, "usage: " TOOL " --events T --changelog C [--reference R] [--wire registry|plain]\n"), 2;
    sr_codec *codec;
    sr_error err;
    if (sr_codec_new(&codec, &err) != SR_OK) return fprintf(stderr, TOOL ": %s\n", err.message), 2;
    user_table users = {0};

    /* The input: per user, in partition order (a user's events share one). */
    long long events = 0, not_applied = 0;
    sr_topic_reader *reader = topic_scan_open(TOOL, events_topic);
    rd_kafka_message_t *msg;
    long long forgets = 0;
    while ((msg = topic_scan_next(TOOL, reader, events_topic))) {
        sr_user_event e;
        int64_t forgotten;
        if (is_forget(msg, &forgotten)) {
            /* The user starts over: only its events after this count. */
            user_sum *u = user_at(&users, forgotten, 1);
            u->events = 0;
            u->hash = SR_USER_STORE_HASH_SEED;
            forgets++;
        } else if (msg->payload && sr_codec_decode_event(codec, wire, msg->payload, msg->len, &e, &err) == SR_OK &&
            key_is(msg, e.user_id)) {
            user_sum *u = user_at(&users, e.user_id, 1);
            u->events++;
            u->hash = sr_user_store_hash_step(u->hash, e.item_id, (uint8_t)e.event_type);
            u->last_offset = msg->offset;
            u->partition = msg->partition;
            events++;
        } else {
            not_applied++;
        }
        rd_kafka_message_destroy(msg);
    }
    sr_topic_reader_free(reader);

    long long states = 0, undecodable = 0, reference_states = 0, reference_undecodable = 0;
    read_changelog(changelog_topic, &users, 0, &states, &undecodable);
    if (reference_topic) read_changelog(reference_topic, &users, 1, &reference_states, &reference_undecodable);
    undecodable += reference_undecodable;

    long long missing = 0, wrong_count = 0, wrong_hash = 0, wrong_offset = 0, wrong_partition = 0,
              unexpected = 0, users_with_events = 0, shown = 0, wrong_hidden = 0;
    double max_hidden_difference = 0;
    for (size_t i = 0; i < users.cap; i++) {
        const user_sum *u = &users.slots[i];
        if (!u->used || (!u->events && !u->has_state)) continue;
        const char *what = NULL;
        if (!u->events) unexpected++, what = "a state but no events";
        else if (users_with_events++, !u->has_state) missing++, what = "no state";
        else if (u->applied != u->events) wrong_count++, what = "applied_events differs";
        else if (u->state_hash != u->hash) wrong_hash++, what = "sequence_hash differs";
        else if (u->state_offset != u->last_offset) wrong_offset++, what = "source_offset differs";
        else if (u->state_partition != u->partition) wrong_partition++, what = "on another partition";
        else if (reference_topic) {
            double d = hidden_difference(u);
            if (d > max_hidden_difference) max_hidden_difference = d;
            if (!(d <= 1e-5)) wrong_hidden++, what = "the hidden state differs from the reference's";
        }
        if (what && shown++ < 10)
            fprintf(stderr, TOOL ": user %" PRId64 ": %s (events %" PRIu64 ", applied %" PRIu64
                    ", last offset %" PRId64 ", state offset %" PRId64 ")\n", u->user_id, what,
                    u->events, u->applied, u->last_offset, u->state_offset);
    }
    long long bad = missing + wrong_count + wrong_hash + wrong_offset + wrong_partition + unexpected +
                    undecodable + wrong_hidden;
    char difference[32] = "null"; /* a user without a reference state: no number */
    if (isfinite(max_hidden_difference)) snprintf(difference, sizeof difference, "%.3g", max_hidden_difference);
    printf("{\"events\":%lld,\"forgets\":%lld,\"events_not_applied\":%lld,\"users\":%lld,\"states\":%lld,\"missing\":%lld,"
           "\"wrong_count\":%lld,\"wrong_hash\":%lld,\"wrong_offset\":%lld,\"wrong_partition\":%lld,"
           "\"unexpected\":%lld,\"undecodable\":%lld,\"reference_states\":%lld,\"wrong_hidden\":%lld,"
           "\"max_hidden_difference\":%s,\"ok\":%s}\n",
           events, forgets, not_applied, users_with_events, states, missing, wrong_count, wrong_hash, wrong_offset,
           wrong_partition, unexpected, undecodable, reference_states, wrong_hidden, difference,
           bad ? "false" : "true");
    for (size_t i = 0; i < users.cap; i++) free(users.slots[i].hidden), free(users.slots[i].reference);
    free(users.slots);
    sr_codec_free(codec);
    return bad ? 1 : 0;
}
