/*
 * sr_replay.h — datasets as a live stream of user events, with no Kafka in it.
 *
 * A replay source reads a dataset file, or generates a synthetic one, and hands
 * out sr_user_event values in the order a live stream would carry them: each
 * user's events in their own order, users interleaved (by timestamp where the
 * file has one, otherwise by a seeded random merge weighted by each user's
 * remaining events, so the same seed gives the same stream).
 *
 *     sr_replay_options options;
 *     sr_replay_options_init(&options);
 *     options.on_bad_line = SR_BAD_LINE_FAIL;
 *     sr_replay_source *src;
 *     sr_error err;
 *     if (sr_replay_source_open(SR_REPLAY_LINES, "Yelp.txt", &options, &src, &err) != SR_OK)
 *         die(err.message);              // e.g. "Yelp.txt:17: item id 'x1' is not ..."
 *     sr_user_event event;
 *     bool done = false;
 *     while (sr_replay_source_next(src, &event, &done, &err) == SR_OK && !done)
 *         use(&event);
 *     sr_replay_source_free(src);
 *
 * Formats (see --help of `streamrec replay` for the user's view):
 *   lines       "user item item ..." one user per line, items oldest first
 *               (the S3-Rec files); a user seen on two lines continues its sequence.
 *   pairs       "user item" one interaction per line, chronological per user
 *               (the BERT4Rec files).
 *   diginetica  the CIKM Cup 2016 CSV "sessionId;userId;itemId;timeframe;eventdate"
 *               (header optional, snake_case or camelCase names); a session is a
 *               user; ordered by eventdate then timeframe; event time = eventdate
 *               (UTC midnight) + timeframe ms; session_id carries the session id.
 *   synthetic   generated: items in clusters with Markov transitions (see
 *               worker/replay/synthetic.c); streams without storing events.
 * Files carry no event type: their events are VIEW. Files without timestamps get
 * event_time = start_time_ms + i * time_step_ms for the i-th event of the stream.
 *
 * Files are read and checked whole at open (they need to be, for the weighted
 * merge), so with SR_BAD_LINE_FAIL a bad line fails the open before any event is
 * handed out; a file source holds 32 bytes per event (about twice that, plus the
 * file, while opening). The synthetic source keeps only
 * per-user and per-item state (8 bytes a user, 4 an item), however many events
 * it makes.
 *
 * Bad lines name the file, the 1-based line number and the reason. With
 * SR_BAD_LINE_SKIP they are counted (sr_replay_source_stats) and passed to
 * options.bad_line_hook, or, without a hook, logged (the first
 * options.bad_line_log_limit of them). Blank lines are not data: they are
 * counted apart and otherwise ignored.
 *
 * A source is not thread-safe; use one per thread.
 */
#ifndef SR_REPLAY_H
#define SR_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "sr_error.h"
#include "sr_event.h"

typedef enum sr_replay_kind {
    SR_REPLAY_LINES,
    SR_REPLAY_PAIRS,
    SR_REPLAY_DIGINETICA,
    SR_REPLAY_SYNTHETIC,
} sr_replay_kind;

/* Parses "lines", "pairs", "diginetica", "synthetic"; -1 for anything else. */
int sr_replay_kind_parse(const char *name);
const char *sr_replay_kind_name(sr_replay_kind kind);

typedef enum sr_bad_line_policy {
    SR_BAD_LINE_SKIP,  /* count it, report it, go on */
    SR_BAD_LINE_FAIL,  /* the open fails with SR_ERR_PARSE naming file and line */
} sr_bad_line_policy;

/* Called once per skipped bad line; message is "<path>:<line>: <reason>". */
typedef void sr_replay_bad_line_hook(void *context, const char *path, uint64_t line_number,
                                     const char *message);

typedef struct sr_replay_options {
    sr_bad_line_policy on_bad_line;
    uint32_t bad_line_log_limit;       /* bad lines logged one by one (no hook) */
    sr_replay_bad_line_hook *bad_line_hook;
    void *bad_line_hook_context;

    uint64_t seed;                     /* interleaving of files; the synthetic data */
    int64_t start_time_ms;             /* first event time where the data has none */
    int64_t time_step_ms;              /* between consecutive events, same cases */

    /* synthetic only */
    uint64_t users;
    uint64_t items;
    uint64_t events;
    uint32_t cluster_size;             /* items per cluster */
} sr_replay_options;

/* Defaults: skip bad lines, log 10, seed 1, start 2024-01-01T00:00:00Z, step
 * 1000 ms; synthetic 1000 users, 500 items, 100000 events, clusters of 20. */
void sr_replay_options_init(sr_replay_options *options);

typedef struct sr_replay_stats {
    uint64_t lines;          /* lines read, blank and bad ones included */
    uint64_t blank_lines;
    uint64_t bad_lines;      /* skipped */
    uint64_t users;          /* distinct users (synthetic: the configured count) */
    uint64_t events_total;   /* events the source will hand out in all */
    uint64_t events_read;    /* handed out so far */
} sr_replay_stats;

typedef struct sr_replay_source sr_replay_source;

/* Opens a source; path is ignored (may be NULL) for SR_REPLAY_SYNTHETIC. Fails
 * with SR_ERR_IO (file), SR_ERR_PARSE (a bad line under SR_BAD_LINE_FAIL),
 * SR_ERR_INVALID_ARG (options), SR_ERR_LIMIT (synthetic only: more than 2^32-2
 * items, or more users than memory can index), SR_ERR_NOMEM. options may be NULL for the defaults. */
sr_status sr_replay_source_open(sr_replay_kind kind, const char *path,
                                const sr_replay_options *options, sr_replay_source **out,
                                sr_error *err);

/* The next event: SR_OK with *done false and *event filled, or SR_OK with *done
 * true once the stream is over. An event's session_id (when present) stays
 * valid until the next call. */
sr_status sr_replay_source_next(sr_replay_source *src, sr_user_event *event, bool *done,
                                sr_error *err);

sr_replay_stats sr_replay_source_stats(const sr_replay_source *src);

/* Bytes the source holds on the heap: for checking the streaming promise. */
uint64_t sr_replay_source_memory(const sr_replay_source *src);

void sr_replay_source_free(sr_replay_source *src);

#endif
