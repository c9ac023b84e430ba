/*
 * sr_error.h — the one error convention of streamrec.
 *
 * Every function that can fail returns an sr_status and takes, as its last
 * argument, an sr_error that the caller owns. On failure the function fills the
 * error with its status and a one-line message and returns that status; on
 * success it returns SR_OK and leaves the error untouched. Only main() decides to
 * exit.
 *
 *     sr_error err;
 *     if (sr_codec_decode_event(codec, buf, len, &event, &err) != SR_OK)
 *         fprintf(stderr, "bad record: %s (%s)\n", err.message,
 *                 sr_status_name(err.status));
 *
 * New statuses go at the end of their group: the numbers appear in logs and DLQ
 * headers by name only, but keeping order stable keeps old logs readable.
 */
#ifndef SR_ERROR_H
#define SR_ERROR_H

#include <stddef.h>

typedef enum sr_status {
    SR_OK = 0,

    /* General. */
    SR_ERR_NOMEM,           /* an allocation failed */
    SR_ERR_IO,              /* a file or socket operation failed */
    SR_ERR_INVALID_ARG,     /* a caller passed something the contract forbids */
    SR_ERR_CONFIG,          /* a configuration key or value is wrong */
    SR_ERR_KAFKA,           /* librdkafka reported an error */
    SR_ERR_PARSE,           /* a text input (dataset line, schema) is malformed */
    SR_ERR_SCHEMA,          /* an Avro schema is invalid or incompatible */
    SR_ERR_NOT_FOUND,       /* a named thing does not exist */
    SR_ERR_LIMIT,           /* a configured or built-in size limit was exceeded */
    SR_ERR_ABORTED,         /* a Kafka transaction was aborted: its input is to be processed again */

    /* Record decoding: each way a record on the wire can be malformed. */
    SR_ERR_TRUNCATED,       /* the record ended in the middle of a value */
    SR_ERR_BAD_MAGIC,       /* the Schema Registry magic byte is not 0 */
    SR_ERR_UNKNOWN_SCHEMA,  /* the Schema Registry id maps to no known schema */
    SR_ERR_BAD_VARINT,      /* a varint is longer than 10 bytes or overflows */
    SR_ERR_BAD_UNION,       /* a union branch index is out of range */
    SR_ERR_BAD_ENUM,        /* an enum symbol index is out of range */
    SR_ERR_TRAILING_BYTES,  /* bytes remain after the record */
    SR_ERR_BAD_LENGTH,      /* a string/bytes/array length is negative or too long */
    SR_ERR_INVALID_VALUE,   /* decodes, but a field fails validation */

    SR_STATUS_COUNT
} sr_status;

#define SR_ERROR_MESSAGE_MAX 256

typedef struct sr_error {
    sr_status status;
    char message[SR_ERROR_MESSAGE_MAX];
} sr_error;

/* Fills err (when not NULL) with status and a printf-style message, and returns
 * status, so that a failing path reads `return sr_fail(err, SR_ERR_IO, ...);`. */
sr_status sr_fail(sr_error *err, sr_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes err's message (when err is not NULL) with context ("loading model: "
 * + message) and returns status, the failure being wrapped, so that a path reads
 * `return sr_error_wrap(err, s, "loading %s", path);`. Taking status rather than
 * reading err->status keeps it right when a caller passed no err. */
sr_status sr_error_wrap(sr_error *err, sr_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A stable snake_case name for a status, e.g. "truncated"; never NULL. */
const char *sr_status_name(sr_status status);

#endif
