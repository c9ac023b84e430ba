/*
 * text.h — reading a dataset file line by line, and the fields in a line.
 *
 * The whole file is read into memory (datasets here are a few MB; the merge
 * needs them whole anyway), "-" meaning standard input. Lines end at '\n'; a
 * '\r' before it is dropped; the last line needs no terminator. Field parsers
 * never trust the text: they return SR_ERR_PARSE with a reason fit for a bad-line
 * report.
 */
#ifndef SR_REPLAY_TEXT_H
#define SR_REPLAY_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sr_error.h"

typedef struct replay_text {
    char *data;
    size_t len;
    size_t pos;
    uint64_t line_number;  /* of the line last returned, 1-based */
} replay_text;

sr_status replay_text_load(const char *path, replay_text *text, sr_error *err);
/* The next line, without its terminator; false at the end. */
bool replay_text_next_line(replay_text *text, const char **line, size_t *len);
void replay_text_free(replay_text *text);

/* True when the line holds nothing but spaces and tabs. */
bool replay_line_is_blank(const char *line, size_t len);

/* Splits off the next run of non-blank bytes (blank: space, tab) from
 * [*cursor, end); false when none is left. */
bool replay_next_token(const char **cursor, const char *end, const char **token,
                       size_t *len);

/* A non-negative decimal 64-bit id; `what` names it in the reason ("item id"). */
sr_status replay_parse_id(const char *text, size_t len, const char *what, int64_t *out,
                          sr_error *err);

/* "YYYY-MM-DD" as milliseconds since the epoch at UTC midnight. */
sr_status replay_parse_date(const char *text, size_t len, int64_t *out_ms, sr_error *err);

#endif
