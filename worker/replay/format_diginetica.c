/*
 * format_diginetica.c — the CIKM Cup 2016 DIGINETICA item views:
 * "sessionId;userId;itemId;timeframe;eventdate", ';'-separated.
 *
 * The session is the user (most rows have no user id: "NA" or empty); userId is
 * checked but not used. Event time = eventdate at UTC midnight + timeframe ms.
 * The first non-blank line may be the header, in snake_case
 * (session_id;user_id;...) or camelCase; one that looks like a header but names
 * other columns is a bad line. Rows are not in time order inside a session in
 * the published files; the source sorts them afterwards (replay_order_by_time).
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "replay_internal.h"
#include "text.h"

#define COLUMN_COUNT 5

typedef struct diginetica_state {
    bool first_line_seen;
} diginetica_state;

/* Splits at ';' into exactly COLUMN_COUNT fields; false with a reason otherwise. */
static sr_status split_columns(const char *line, size_t len, const char **fields,
                               size_t *lens, sr_error *reason) {
    size_t n = 0;
    const char *start = line, *end = line + len;
    for (const char *p = line; p <= end; p++) {
        if (p < end && *p != ';') continue;
        if (n < COLUMN_COUNT) {
            fields[n] = start;
            lens[n] = (size_t)(p - start);
        }
        n++;
        start = p + 1;
    }
    if (n != COLUMN_COUNT)
        return sr_fail(reason, SR_ERR_PARSE, "expected %d ';'-separated columns, got %zu",
                       COLUMN_COUNT, n);
    return SR_OK;
}

/* Lower case without '_', so session_id and sessionId compare equal. */
static bool column_name_is(const char *field, size_t len, const char *expected) {
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        if (field[i] == '_') continue;
        if (expected[j] == '\0' || tolower((unsigned char)field[i]) != expected[j]) return false;
        j++;
    }
    return expected[j] == '\0';
}

static sr_status check_header(const char **fields, const size_t *lens, sr_error *reason) {
    static const char *const names[COLUMN_COUNT] = {"sessionid", "userid", "itemid",
                                                    "timeframe", "eventdate"};
    for (int i = 0; i < COLUMN_COUNT; i++)
        if (!column_name_is(fields[i], lens[i], names[i]))
            return sr_fail(reason, SR_ERR_PARSE,
                           "header column %d is not '%s' (expected "
                           "sessionId;userId;itemId;timeframe;eventdate)",
                           i + 1, names[i]);
    return SR_OK;
}

static sr_status check_user_column(const char *field, size_t len, sr_error *reason) {
    int64_t ignored;
    if (len == 0 || (len == 2 && memcmp(field, "NA", 2) == 0)) return SR_OK;
    return replay_parse_id(field, len, "userId", &ignored, reason);
}

static sr_status parse_row(const char **fields, const size_t *lens, replay_records *out,
                           sr_error *reason) {
    int64_t session, item, timeframe, day_ms;
    if (replay_parse_id(fields[0], lens[0], "sessionId", &session, reason) != SR_OK ||
        check_user_column(fields[1], lens[1], reason) != SR_OK ||
        replay_parse_id(fields[2], lens[2], "itemId", &item, reason) != SR_OK ||
        replay_parse_id(fields[3], lens[3], "timeframe", &timeframe, reason) != SR_OK ||
        replay_parse_date(fields[4], lens[4], &day_ms, reason) != SR_OK)
        return SR_ERR_PARSE;
    /* timeframe >= 0, so only a date after 1970 can push the sum past INT64_MAX. */
    if (day_ms > 0 && timeframe > INT64_MAX - day_ms)
        return sr_fail(reason, SR_ERR_PARSE, "timeframe %lld is too large",
                       (long long)timeframe);
    return replay_records_push(out, session, item, day_ms + timeframe, reason);
}

static sr_status parse_line(void *context, const char *line, size_t len,
                            replay_records *out, sr_error *reason) {
    diginetica_state *state = context;
    const char *fields[COLUMN_COUNT];
    size_t lens[COLUMN_COUNT];
    bool first = !state->first_line_seen;
    state->first_line_seen = true;
    if (split_columns(line, len, fields, lens, reason) != SR_OK) return SR_ERR_PARSE;
    /* A first line that does not start with a digit is meant as a header. */
    if (first && (lens[0] == 0 || !isdigit((unsigned char)fields[0][0])))
        return check_header(fields, lens, reason);
    return parse_row(fields, lens, out, reason);
}

sr_status replay_load_diginetica(const char *path, const sr_replay_options *options,
                                 replay_records *out, sr_replay_stats *stats, sr_error *err) {
    diginetica_state state = {false};
    return replay_load_text(path, options, parse_line, &state, out, stats, err);
}
