/*
 * source.c — the replay source of sr_replay.h: opens the right loader or the
 * generator and hands out events one by one. Owns everything it allocates;
 * sr_replay_source_free releases it all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "replay_internal.h"

/* 2024-01-01T00:00:00Z: a fixed default, so that streams are reproducible. */
#define DEFAULT_START_TIME_MS 1704067200000LL

struct sr_replay_source {
    sr_replay_kind kind;
    sr_replay_stats stats;
    replay_records records;        /* file kinds: the whole stream, in order */
    replay_synthetic *synthetic;   /* SR_REPLAY_SYNTHETIC */
    char session_text[24];         /* diginetica: the session id as text */
};

static const char *const kind_names[] = {"lines", "pairs", "diginetica", "synthetic"};

int sr_replay_kind_parse(const char *name) {
    for (int i = 0; i < (int)(sizeof kind_names / sizeof kind_names[0]); i++)
        if (strcasecmp(name, kind_names[i]) == 0) return i;
    return -1;
}

const char *sr_replay_kind_name(sr_replay_kind kind) {
    if ((unsigned)kind >= sizeof kind_names / sizeof kind_names[0]) return "unknown";
    return kind_names[kind];
}

void sr_replay_options_init(sr_replay_options *options) {
    *options = (sr_replay_options){
        .on_bad_line = SR_BAD_LINE_SKIP,
        .bad_line_log_limit = 10,
        .seed = 1,
        .start_time_ms = DEFAULT_START_TIME_MS,
        .time_step_ms = 1000,
        .users = 1000,
        .items = 500,
        .events = 100000,
        .cluster_size = 20,
    };
}

static sr_status load_file(sr_replay_source *src, const char *path,
                           const sr_replay_options *options, sr_error *err) {
    if (!path) return sr_fail(err, SR_ERR_INVALID_ARG, "%s needs a file",
                              sr_replay_kind_name(src->kind));
    sr_status status;
    if (src->kind == SR_REPLAY_LINES)
        status = replay_load_lines(path, options, &src->records, &src->stats, err);
    else if (src->kind == SR_REPLAY_PAIRS)
        status = replay_load_pairs(path, options, &src->records, &src->stats, err);
    else
        status = replay_load_diginetica(path, options, &src->records, &src->stats, err);
    if (status != SR_OK) return status;
    if (src->kind == SR_REPLAY_DIGINETICA)
        status = replay_order_by_time(&src->records, &src->stats, err);
    else
        status = replay_interleave(&src->records, options, &src->stats, err);
    src->stats.events_total = src->records.count;
    return status;
}

static sr_status check_options(const sr_replay_options *options, sr_error *err) {
    if (options->time_step_ms < 0)
        return sr_fail(err, SR_ERR_INVALID_ARG, "time step must not be negative");
    if (options->on_bad_line != SR_BAD_LINE_SKIP && options->on_bad_line != SR_BAD_LINE_FAIL)
        return sr_fail(err, SR_ERR_INVALID_ARG, "unknown bad-line policy");
    return SR_OK;
}

sr_status sr_replay_source_open(sr_replay_kind kind, const char *path,
                                const sr_replay_options *options, sr_replay_source **out,
                                sr_error *err) {
    sr_replay_options defaults;
    if (!options) {
        sr_replay_options_init(&defaults);
        options = &defaults;
    }
    if ((unsigned)kind > SR_REPLAY_SYNTHETIC)
        return sr_fail(err, SR_ERR_INVALID_ARG, "unknown replay kind %d", (int)kind);
    sr_status status = check_options(options, err);
    if (status != SR_OK) return status;
    sr_replay_source *src = calloc(1, sizeof *src);
    if (!src) return sr_fail(err, SR_ERR_NOMEM, "out of memory");
    src->kind = kind;
    if (kind == SR_REPLAY_SYNTHETIC) {
        status = replay_synthetic_new(options, &src->synthetic, err);
        src->stats.users = options->users;
        src->stats.events_total = options->events;
    } else {
        status = load_file(src, path, options, err);
    }
    if (status != SR_OK) {
        sr_replay_source_free(src);
        return status;
    }
    *out = src;
    return SR_OK;
}

static void record_event(sr_replay_source *src, const replay_record *r,
                         sr_user_event *event) {
    *event = (sr_user_event){
        .user_id = r->user_id,
        .item_id = r->item_id,
        .event_type = SR_EVENT_VIEW,
        .event_time_ms = r->time_ms,
    };
    if (src->kind == SR_REPLAY_DIGINETICA) {
        int n = snprintf(src->session_text, sizeof src->session_text, "%lld",
                         (long long)r->user_id);
        event->has_session_id = true;
        event->session_id = src->session_text;
        event->session_id_len = (size_t)n;
    }
}

sr_status sr_replay_source_next(sr_replay_source *src, sr_user_event *event, bool *done,
                                sr_error *err) {
    (void)err;  /* no source fails once open; kept so one could */
    *done = src->stats.events_read >= src->stats.events_total;
    if (*done) return SR_OK;
    if (src->synthetic)
        replay_synthetic_next(src->synthetic, event);
    else
        record_event(src, &src->records.items[src->stats.events_read], event);
    src->stats.events_read++;
    return SR_OK;
}

sr_replay_stats sr_replay_source_stats(const sr_replay_source *src) { return src->stats; }

uint64_t sr_replay_source_memory(const sr_replay_source *src) {
    uint64_t bytes = sizeof *src + src->records.cap * sizeof *src->records.items;
    if (src->synthetic) bytes += replay_synthetic_memory(src->synthetic);
    return bytes;
}

void sr_replay_source_free(sr_replay_source *src) {
    if (!src) return;
    replay_records_free(&src->records);
    replay_synthetic_free(src->synthetic);
    free(src);
}
