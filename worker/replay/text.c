/*
 * text.c — dataset files as lines, and the id and date fields in them; see text.h.
 */
#include "text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends everything that remains in `in` to text->data. */
static sr_status read_stream(FILE *in, const char *path, replay_text *text, sr_error *err) {
    size_t cap = 1 << 16;
    char *data = malloc(cap);
    if (!data) return sr_fail(err, SR_ERR_NOMEM, "out of memory reading %s", path);
    size_t len = 0;
    for (;;) {
        if (cap - len < 4096) {
            char *grown = realloc(data, cap * 2);
            if (!grown) {
                free(data);
                return sr_fail(err, SR_ERR_NOMEM, "out of memory reading %s", path);
            }
            data = grown;
            cap *= 2;
        }
        size_t n = fread(data + len, 1, cap - len, in);
        len += n;
        if (n == 0) break;
    }
    if (ferror(in)) {
        free(data);
        return sr_fail(err, SR_ERR_IO, "reading %s: %s", path, strerror(errno));
    }
    text->data = data;
    text->len = len;
    return SR_OK;
}

sr_status replay_text_load(const char *path, replay_text *text, sr_error *err) {
    memset(text, 0, sizeof *text);
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *in = is_stdin ? stdin : fopen(path, "rb");
    if (!in) return sr_fail(err, SR_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    sr_status status = read_stream(in, is_stdin ? "standard input" : path, text, err);
    if (!is_stdin) fclose(in);
    return status;
}

bool replay_text_next_line(replay_text *text, const char **line, size_t *len) {
    if (text->pos >= text->len) return false;
    const char *start = text->data + text->pos;
    size_t rest = text->len - text->pos;
    const char *newline = memchr(start, '\n', rest);
    size_t n = newline ? (size_t)(newline - start) : rest;
    text->pos += newline ? n + 1 : n;
    text->line_number++;
    if (n > 0 && start[n - 1] == '\r') n--;
    *line = start;
    *len = n;
    return true;
}

void replay_text_free(replay_text *text) {
    free(text->data);
    memset(text, 0, sizeof *text);
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

bool replay_line_is_blank(const char *line, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (!is_blank(line[i])) return false;
    return true;
}

bool replay_next_token(const char **cursor, const char *end, const char **token,
                       size_t *len) {
    const char *p = *cursor;
    while (p < end && is_blank(*p)) p++;
    if (p == end) return false;
    const char *start = p;
    while (p < end && !is_blank(*p)) p++;
    *token = start;
    *len = (size_t)(p - start);
    *cursor = p;
    return true;
}

/* A printable copy of a field for messages: cut short, odd bytes as '?'. */
static const char *quote_field(const char *text, size_t len, char *buf, size_t cap) {
    size_t n = len < cap - 4 ? len : cap - 4;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        buf[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    if (n < len) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

sr_status replay_parse_id(const char *text, size_t len, const char *what, int64_t *out,
                          sr_error *err) {
    char shown[40];
    if (len == 0) return sr_fail(err, SR_ERR_PARSE, "%s is empty", what);
    uint64_t value = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return sr_fail(err, SR_ERR_PARSE, "%s '%s' is not a non-negative integer", what,
                           quote_field(text, len, shown, sizeof shown));
        unsigned digit = (unsigned)(text[i] - '0');
        /* Checked before multiplying, so value never leaves [0, INT64_MAX]. */
        if (value > ((uint64_t)INT64_MAX - digit) / 10)
            return sr_fail(err, SR_ERR_PARSE, "%s '%s' overflows a signed 64-bit integer",
                           what, quote_field(text, len, shown, sizeof shown));
        value = value * 10 + digit;
    }
    *out = (int64_t)value;
    return SR_OK;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar: shift the
 * year to start in March so the leap day is the year's last, then count. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned year_of_era = (unsigned)(y - era * 400);
    unsigned day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + (int64_t)day_of_era - 719468;
}

static unsigned days_in_month(unsigned year, unsigned month) {
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* The number in text[from, from+n) made of digits only; -1 if any is not. */
static int digits_value(const char *text, size_t from, size_t n) {
    int value = 0;
    for (size_t i = from; i < from + n; i++) {
        if (text[i] < '0' || text[i] > '9') return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

sr_status replay_parse_date(const char *text, size_t len, int64_t *out_ms, sr_error *err) {
    char shown[40];
    int year = -1, month = -1, day = -1;
    if (len == 10 && text[4] == '-' && text[7] == '-') {
        year = digits_value(text, 0, 4);
        month = digits_value(text, 5, 2);
        day = digits_value(text, 8, 2);
    }
    if (year < 0 || month < 1 || month > 12 || day < 1 ||
        (unsigned)day > days_in_month((unsigned)year, (unsigned)month))
        return sr_fail(err, SR_ERR_PARSE, "eventdate '%s' is not a date YYYY-MM-DD",
                       quote_field(text, len, shown, sizeof shown));
    *out_ms = days_from_civil(year, (unsigned)month, (unsigned)day) * 86400000LL;
    return SR_OK;
}
