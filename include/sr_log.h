/*
 * sr_log.h — logs as one JSON object per line on stderr.
 *
 *     sr_log(SR_LOG_INFO, "replay", "produced %zu events", n);
 *     -> {"ts":"2026-11-30T09:00:00.123Z","level":"info","component":"replay","msg":"produced 42 events"}
 *
 * Thread-safe: each line is written with one fwrite under a lock.
 */
#ifndef SR_LOG_H
#define SR_LOG_H

typedef enum sr_log_level {
    SR_LOG_DEBUG,
    SR_LOG_INFO,
    SR_LOG_WARN,
    SR_LOG_ERROR,
} sr_log_level;

void sr_log_set_level(sr_log_level level);

/* Parses "debug", "info", "warn" or "error"; returns -1 for anything else. */
int sr_log_level_parse(const char *name);

void sr_log(sr_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
