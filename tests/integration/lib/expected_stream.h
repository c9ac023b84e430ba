/*
 * expected_stream.h — what a topic should hold, per user, for the integration
 * verifiers, and the comparison of what was read against it.
 *
 * Observed events are fed in the order they were read; a user's events must
 * arrive exactly once and in the expected order.
 */
#ifndef EXPECTED_STREAM_H
#define EXPECTED_STREAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct expected_stream expected_stream;

/* One event's fields other than the user. Files carry no session or value, so
 * their events must have neither; time is compared for synthetic streams only. */
typedef struct expected_fields {
    int64_t item, time;
    int type;
    int has_session;
    const char *session;  /* session_len bytes, not NUL-terminated */
    size_t session_len;
    int has_value;
    double value;
} expected_fields;

typedef struct expected_report {
    long long expected;      /* events in the expected stream */
    long long missing;       /* expected, never read */
    long long duplicates;    /* read again right after their first delivery */
    long long out_of_order;  /* read before an earlier event of the same user */
    long long mismatched;    /* fields differ from every expected event nearby */
    long long unexpected;    /* of a user that should have no events */
} expected_report;

/* Each returns NULL after printing why on stderr. Event times are compared only
 * for synthetic streams; the file formats carry none. A stream may hold 0
 * events; expected_finish(s).expected tells. */
expected_stream *expected_from_lines(const char *path);
expected_stream *expected_from_pairs(const char *path);
expected_stream *expected_from_synthetic(const char *spec /* "users,items,events,seed" */);

void expected_observe(expected_stream *s, int64_t user, const expected_fields *observed);
expected_report expected_finish(const expected_stream *s);
void expected_free(expected_stream *s);

#endif
