/*
 * format_lines.c — "user item item ..." one user per line, items oldest first
 * (the S3-Rec files). A line with a user and no item is bad; so is any id that
 * is not a non-negative 64-bit integer. A bad line contributes no event at all.
 */
#include "replay_internal.h"
#include "text.h"

/* Appends one line's events; on a bad line, takes back what it appended and
 * fills `reason`. */
static sr_status parse_line(void *context, const char *line, size_t len,
                            replay_records *out, sr_error *reason) {
    (void)context;
    const char *cursor = line, *end = line + len, *token;
    size_t token_len, first = out->count;
    int64_t user_id, item_id;
    replay_next_token(&cursor, end, &token, &token_len);  /* the line is not blank */
    if (replay_parse_id(token, token_len, "user id", &user_id, reason) != SR_OK)
        return SR_ERR_PARSE;
    while (replay_next_token(&cursor, end, &token, &token_len)) {
        sr_status status = replay_parse_id(token, token_len, "item id", &item_id, reason);
        if (status == SR_OK) status = replay_records_push(out, user_id, item_id, 0, reason);
        if (status != SR_OK) {
            out->count = first;
            return status;
        }
    }
    if (out->count == first)
        return sr_fail(reason, SR_ERR_PARSE, "user %lld has no items", (long long)user_id);
    return SR_OK;
}

sr_status replay_load_lines(const char *path, const sr_replay_options *options,
                            replay_records *out, sr_replay_stats *stats, sr_error *err) {
    return replay_load_text(path, options, parse_line, NULL, out, stats, err);
}
