/*
 * records.c — the growable array of loaded events, and the reporting of bad
 * lines that every loader shares; see replay_internal.h.
 */
#include <stdlib.h>

#include "replay_internal.h"
#include "sr_log.h"
#include "text.h"

sr_status replay_records_push(replay_records *records, int64_t user_id, int64_t item_id,
                              int64_t time_ms, sr_error *err) {
    if (records->count == records->cap) {
        size_t cap = records->cap ? records->cap * 2 : 4096;
        replay_record *grown = realloc(records->items, cap * sizeof *grown);
        if (!grown) return sr_fail(err, SR_ERR_NOMEM, "out of memory after %zu events",
                                   records->count);
        records->items = grown;
        records->cap = cap;
    }
    replay_record *r = &records->items[records->count];
    r->user_id = user_id;
    r->item_id = item_id;
    r->time_ms = time_ms;
    r->order = records->count++;
    return SR_OK;
}

void replay_records_free(replay_records *records) {
    free(records->items);
    records->items = NULL;
    records->count = records->cap = 0;
}

sr_status replay_report_bad_line(const replay_bad_lines *bad, uint64_t line_number,
                                 const char *reason, sr_error *err) {
    const sr_replay_options *options = bad->options;
    if (options->on_bad_line == SR_BAD_LINE_FAIL)
        return sr_fail(err, SR_ERR_PARSE, "%s:%llu: %s", bad->path,
                       (unsigned long long)line_number, reason);
    uint64_t seen = ++bad->stats->bad_lines;
    if (options->bad_line_hook) {
        sr_error line;
        sr_fail(&line, SR_ERR_PARSE, "%s:%llu: %s", bad->path,
                (unsigned long long)line_number, reason);
        options->bad_line_hook(options->bad_line_hook_context, bad->path, line_number,
                               line.message);
    } else if (seen <= options->bad_line_log_limit) {
        sr_log(SR_LOG_WARN, "replay", "%s:%llu: %s (line skipped)%s", bad->path,
               (unsigned long long)line_number, reason,
               seen == options->bad_line_log_limit ? "; further bad lines are only counted"
                                                   : "");
    }
    return SR_OK;
}

sr_status replay_load_text(const char *path, const sr_replay_options *options,
                           replay_line_parser *parse, void *context, replay_records *out,
                           sr_replay_stats *stats, sr_error *err) {
    replay_text text;
    sr_status status = replay_text_load(path, &text, err);
    if (status != SR_OK) return status;
    replay_bad_lines bad = {path, options, stats};
    const char *line;
    size_t len;
    while (status == SR_OK && replay_text_next_line(&text, &line, &len)) {
        stats->lines++;
        if (replay_line_is_blank(line, len)) {
            stats->blank_lines++;
            continue;
        }
        sr_error reason;
        status = parse(context, line, len, out, &reason);
        if (status == SR_ERR_PARSE)
            status = replay_report_bad_line(&bad, text.line_number, reason.message, err);
        else if (status != SR_OK)
            *err = reason;
    }
    replay_text_free(&text);
    return status;
}
