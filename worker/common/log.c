/* log.c — JSON-lines logging; see sr_log.h. */
#include "sr_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static sr_log_level min_level = SR_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void sr_log_set_level(sr_log_level level) { min_level = level; }

int sr_log_level_parse(const char *name) {
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0) return i;
    return -1;
}

/* Appends s to out as the inside of a JSON string; returns the new length. */
static size_t json_escape(char *out, size_t len, size_t cap, const char *s) {
    for (; *s && len + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[len++] = '\\';
            out[len++] = (char)c;
        } else if (c == '\n') {
            out[len++] = '\\';
            out[len++] = 'n';
        } else if (c < 0x20) {
            len += (size_t)snprintf(out + len, cap - len, "\\u%04x", c);
        } else {
            out[len++] = (char)c;
        }
    }
    return len;
}

void sr_log(sr_log_level level, const char *component, const char *fmt, ...) {
    if (level < min_level) return;

    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);

    char line[2600];
    size_t len = (size_t)snprintf(
        line, sizeof line,
        "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"component\":\"",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        now.tv_nsec / 1000000, level_names[level]);
    len = json_escape(line, len, sizeof line, component);
    len += (size_t)snprintf(line + len, sizeof line - len, "\",\"msg\":\"");
    len = json_escape(line, len, sizeof line, msg);
    len += (size_t)snprintf(line + len, sizeof line - len, "\"}\n");

    pthread_mutex_lock(&log_lock);
    fwrite(line, 1, len, stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
}
