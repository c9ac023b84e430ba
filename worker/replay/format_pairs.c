/*
 * format_pairs.c — "user item", one interaction per line, chronological per user
 * (the BERT4Rec files). Exactly two fields; anything else is a bad line.
 */
#include "replay_internal.h"
#include "text.h"

static sr_status parse_line(void *context, const char *line, size_t len,
                            replay_records *out, sr_error *reason) {
    (void)context;
    const char *cursor = line, *end = line + len, *fields[3];
    size_t lens[3], n = 0;
    while (n < 3 && replay_next_token(&cursor, end, &fields[n], &lens[n])) n++;
    if (n != 2)
        return sr_fail(reason, SR_ERR_PARSE, "expected 2 fields 'user item', got %s",
                       n == 1 ? "1" : "more");
    int64_t user_id, item_id;
    if (replay_parse_id(fields[0], lens[0], "user id", &user_id, reason) != SR_OK ||
        replay_parse_id(fields[1], lens[1], "item id", &item_id, reason) != SR_OK)
        return SR_ERR_PARSE;
    return replay_records_push(out, user_id, item_id, 0, reason);
}

sr_status replay_load_pairs(const char *path, const sr_replay_options *options,
                            replay_records *out, sr_replay_stats *stats, sr_error *err) {
    return replay_load_text(path, options, parse_line, NULL, out, stats, err);
}
