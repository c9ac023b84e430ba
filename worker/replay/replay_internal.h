/*
 * replay_internal.h — what the pieces of the replay source share (see
 * sr_replay.h for the promises to callers).
 *
 * The file formats all load into one array of records, then put it in stream
 * order: diginetica sorts by time, lines and pairs go through the seeded merge
 * (interleave.c). The source then walks the array. The synthetic generator makes
 * its events one at a time instead (synthetic.c).
 */
#ifndef SR_REPLAY_INTERNAL_H
#define SR_REPLAY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_replay.h"

typedef struct replay_record {
    int64_t user_id;
    int64_t item_id;
    int64_t time_ms;
    uint64_t order;  /* position in the file, then (after the merge) in the stream */
} replay_record;

typedef struct replay_records {
    replay_record *items;
    size_t count;
    size_t cap;
} replay_records;

sr_status replay_records_push(replay_records *records, int64_t user_id, int64_t item_id,
                              int64_t time_ms, sr_error *err);
void replay_records_free(replay_records *records);

/* Where a loader reports a bad line. */
typedef struct replay_bad_lines {
    const char *path;
    const sr_replay_options *options;
    sr_replay_stats *stats;
} replay_bad_lines;

/* Reports one bad line: under SR_BAD_LINE_SKIP counts it, hands it to the hook
 * (or logs it, up to the limit) and returns SR_OK; under SR_BAD_LINE_FAIL returns
 * SR_ERR_PARSE with "<path>:<line>: <reason>" in err. */
sr_status replay_report_bad_line(const replay_bad_lines *bad, uint64_t line_number,
                                 const char *reason, sr_error *err);

/* Parses one non-blank line, appending its events to out. SR_ERR_PARSE (reason
 * filled) makes it a bad line, which must then have appended nothing; any other
 * failure stops the load. */
typedef sr_status replay_line_parser(void *context, const char *line, size_t len,
                                     replay_records *out, sr_error *reason);

/* Reads path and hands each non-blank line to parse, counting lines and blank
 * lines and reporting bad ones. */
sr_status replay_load_text(const char *path, const sr_replay_options *options,
                           replay_line_parser *parse, void *context, replay_records *out,
                           sr_replay_stats *stats, sr_error *err);

/* Loaders: append the file's events in file order (time_ms 0 where the file has
 * no time) and count lines; they neither merge nor sort. */
sr_status replay_load_lines(const char *path, const sr_replay_options *options,
                            replay_records *out, sr_replay_stats *stats, sr_error *err);
sr_status replay_load_pairs(const char *path, const sr_replay_options *options,
                            replay_records *out, sr_replay_stats *stats, sr_error *err);
sr_status replay_load_diginetica(const char *path, const sr_replay_options *options,
                                 replay_records *out, sr_replay_stats *stats, sr_error *err);

/* Puts records of users without timestamps into a seeded random interleaving
 * (each user's own order kept) and stamps start + i * step; counts users. */
sr_status replay_interleave(replay_records *records, const sr_replay_options *options,
                            sr_replay_stats *stats, sr_error *err);

/* Sorts timestamped records by time, then file position; counts users. */
sr_status replay_order_by_time(replay_records *records, sr_replay_stats *stats,
                               sr_error *err);

typedef struct replay_synthetic replay_synthetic;

sr_status replay_synthetic_new(const sr_replay_options *options, replay_synthetic **out,
                               sr_error *err);
/* The next generated event; the caller stops after options->events of them. */
void replay_synthetic_next(replay_synthetic *gen, sr_user_event *event);
uint64_t replay_synthetic_memory(const replay_synthetic *gen);
void replay_synthetic_free(replay_synthetic *gen);

#endif
