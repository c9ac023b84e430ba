/*
 * expected_stream.c — per-user expected sequences and their comparison with
 * what was read; see expected_stream.h. The file parsers here are deliberately
 * separate from streamrec's replay readers: the test must not trust the code
 * it tests.
 */
#include "expected_stream.h"

#include <inttypes.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_replay.h"

/* session, when present, is an owned copy. */
typedef expected_fields expected_event;

typedef struct user_sequence {
    int64_t user;
    int used;
    expected_event *events;
    long long count, cap, cursor;
} user_sequence;

struct expected_stream {
    user_sequence *slots;   /* open addressing on the user id */
    size_t slot_count;      /* a power of two */
    size_t users;
    int compare_time;
    expected_report report;
};

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

/* NULL only for a stream with no slots yet (no events). */
static user_sequence *find(const expected_stream *s, int64_t user) {
    if (s->slot_count == 0) return NULL;
    size_t mask = s->slot_count - 1;
    for (size_t i = mix((uint64_t)user) & mask;; i = (i + 1) & mask)
        if (!s->slots[i].used || s->slots[i].user == user) return &s->slots[i];
}

static int grow(expected_stream *s) {
    expected_stream bigger = *s;
    bigger.slot_count = s->slot_count ? s->slot_count * 2 : 1024;
    bigger.slots = calloc(bigger.slot_count, sizeof *bigger.slots);
    if (!bigger.slots) return -1;
    for (size_t i = 0; i < s->slot_count; i++)
        if (s->slots[i].used) *find(&bigger, s->slots[i].user) = s->slots[i];
    free(s->slots);
    *s = bigger;
    return 0;
}

static int add(expected_stream *s, int64_t user, const expected_fields *fields) {
    if ((s->users + 1) * 2 > s->slot_count && grow(s)) return -1;
    user_sequence *seq = find(s, user);
    if (!seq->used) {
        seq->used = 1;
        seq->user = user;
        s->users++;
    }
    if (seq->count == seq->cap) {
        long long cap = seq->cap ? seq->cap * 2 : 8;
        expected_event *events = realloc(seq->events, (size_t)cap * sizeof *events);
        if (!events) return -1;
        seq->events = events;
        seq->cap = cap;
    }
    expected_event e = *fields;
    if (e.has_session) {
        char *copy = malloc(e.session_len ? e.session_len : 1);
        if (!copy) return -1;
        memcpy(copy, fields->session, e.session_len);
        e.session = copy;
    } else {
        e.session = NULL;
        e.session_len = 0;
    }
    seq->events[seq->count++] = e;
    s->report.expected++;
    return 0;
}

/* Reads a file of whitespace-separated integers, "user item item ..." per line
 * (pairs_only: exactly one item); fails at the first malformed line. Lines of
 * only whitespace are skipped. */
static expected_stream *parse_numbers(const char *path, int pairs_only) {
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return NULL;
    }
    expected_stream *s = calloc(1, sizeof *s);
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int ok = s != NULL;
    while (ok && getline(&line, &cap, f) > 0) {
        lineno++;
        char *p = line, *end;
        while (isspace((unsigned char)*p)) p++;
        if (!*p) continue; /* blank line */
        int64_t user = strtoll(p, &end, 10);
        if (end == p) {
            fprintf(stderr, "%s:%ld: the user is not a number\n", path, lineno);
            ok = 0;
            break;
        }
        int fields = 0;
        for (p = end;; p = end, fields++) {
            while (isspace((unsigned char)*p)) p++;
            if (!*p) break;
            int64_t item = strtoll(p, &end, 10);
            if (end == p || add(s, user, &(expected_fields){.item = item})) {
                fprintf(stderr, "%s:%ld: not a number or out of memory\n", path, lineno);
                ok = 0;
                break;
            }
        }
        if (ok && pairs_only && fields != 1) {
            fprintf(stderr, "%s:%ld: expected 'user item'\n", path, lineno);
            ok = 0;
        }
    }
    free(line);
    fclose(f);
    if (!ok) {
        expected_free(s);
        return NULL;
    }
    return s;
}

expected_stream *expected_from_lines(const char *path) { return parse_numbers(path, 0); }
expected_stream *expected_from_pairs(const char *path) { return parse_numbers(path, 1); }

/* The synthetic stream is regenerated with streamrec's own generator (with
 * replay's defaults for everything but the four numbers), whose determinism the
 * unit tests check; what is tested here is the trip through Kafka. */
expected_stream *expected_from_synthetic(const char *spec) {
    sr_replay_options options;
    sr_replay_options_init(&options);
    if (sscanf(spec, "%" SCNu64 ",%" SCNu64 ",%" SCNu64 ",%" SCNu64, &options.users, &options.items,
               &options.events, &options.seed) != 4) {
        fprintf(stderr, "expected 'users,items,events,seed', not '%s'\n", spec);
        return NULL;
    }
    sr_replay_source *src;
    sr_error err;
    if (sr_replay_source_open(SR_REPLAY_SYNTHETIC, NULL, &options, &src, &err) != SR_OK) {
        fprintf(stderr, "synthetic stream: %s\n", err.message);
        return NULL;
    }
    expected_stream *s = calloc(1, sizeof *s);
    int ok = s != NULL;
    if (ok) s->compare_time = 1;
    sr_user_event ev;
    bool done = false;
    while (ok && sr_replay_source_next(src, &ev, &done, &err) == SR_OK && !done) {
        expected_fields fields = {
            .item = ev.item_id, .time = ev.event_time_ms, .type = (int)ev.event_type,
            .has_session = ev.has_session_id, .session = ev.session_id,
            .session_len = ev.session_id_len, .has_value = ev.has_value, .value = ev.value,
        };
        ok = add(s, ev.user_id, &fields) == 0;
    }
    sr_replay_source_free(src);
    if (!ok || !done) {
        fprintf(stderr, "synthetic stream: %s\n", ok ? err.message : "out of memory");
        expected_free(s);
        return NULL;
    }
    return s;
}

/* Session and value are always compared: absent must stay absent. */
static int same(const expected_stream *s, const expected_event *e, const expected_fields *o) {
    return e->item == o->item && e->type == o->type && (!s->compare_time || e->time == o->time) &&
           e->has_session == o->has_session &&
           (!e->has_session || (e->session_len == o->session_len &&
                                memcmp(e->session, o->session, e->session_len) == 0)) &&
           e->has_value == o->has_value && (!e->has_value || e->value == o->value);
}

void expected_observe(expected_stream *s, int64_t user, const expected_fields *o) {
    user_sequence *seq = find(s, user);
    if (!seq || !seq->used) {
        s->report.unexpected++;
        return;
    }
    if (seq->cursor < seq->count && same(s, &seq->events[seq->cursor], o)) {
        seq->cursor++;
        return;
    }
    if (seq->cursor > 0 && same(s, &seq->events[seq->cursor - 1], o)) {
        s->report.duplicates++;
        return;
    }
    for (long long k = seq->cursor + 1; k < seq->count; k++)
        if (same(s, &seq->events[k], o)) {
            s->report.out_of_order++;
            return;
        }
    s->report.mismatched++;
}

expected_report expected_finish(const expected_stream *s) {
    expected_report report = s->report;
    for (size_t i = 0; i < s->slot_count; i++)
        if (s->slots[i].used) report.missing += s->slots[i].count - s->slots[i].cursor;
    return report;
}

void expected_free(expected_stream *s) {
    if (!s) return;
    for (size_t i = 0; i < s->slot_count; i++) {
        for (long long k = 0; k < s->slots[i].count; k++)
            free((char *)(uintptr_t)s->slots[i].events[k].session);
        free(s->slots[i].events);
    }
    free(s->slots);
    free(s);
}
