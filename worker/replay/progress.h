/*
 * progress.h — what a replay run tells its user: a progress bar on stderr while
 * it runs (only when stderr is a terminal), and one summary line at the end,
 * human or JSON.
 */
#ifndef SR_REPLAY_PROGRESS_H
#define SR_REPLAY_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct replay_progress {
    FILE *out;            /* NULL: disabled */
    uint64_t total;       /* events expected; 0 if unknown */
    double start;
    double last_draw;
    bool drawn;
} replay_progress;

/* out NULL disables the bar; total 0 leaves out percent and ETA. */
void replay_progress_init(replay_progress *p, FILE *out, uint64_t total, double now);
/* Redraws the bar, at most ten times a second. */
void replay_progress_update(replay_progress *p, uint64_t events, double now);
/* Erases the bar so the summary starts on a clean line. */
void replay_progress_finish(replay_progress *p);

/* Formats the bar into buf (no terminal codes), e.g.
 * "[#####-----]  50.0%  500000/1000000 events  81.2k ev/s  ETA 0:06". */
void replay_progress_format(char *buf, size_t cap, uint64_t events, uint64_t total,
                            double seconds);

typedef struct replay_summary {
    const char *source;      /* "lines", ... */
    const char *topic;       /* NULL in a dry run */
    uint64_t events;         /* handed to the producer */
    uint64_t delivered;      /* acknowledged by the broker */
    uint64_t failed;         /* delivery failed */
    uint64_t bytes;          /* key + value bytes of the events */
    double seconds;
    uint64_t bad_lines;      /* skipped */
    uint64_t blank_lines;
    bool interrupted;        /* stopped by SIGINT/SIGTERM */
} replay_summary;

/* "replay: 1000 events (1000 delivered, 0 failed), 0.05 MB in 0.20 s:
 *  5000 events/s, 0.25 MB/s; 0 bad lines skipped" — one line, with '\n'. */
void replay_summary_print(FILE *out, const replay_summary *s);
/* The same as one JSON object on one line. */
void replay_summary_print_json(FILE *out, const replay_summary *s);

#endif
