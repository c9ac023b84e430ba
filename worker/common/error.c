/* error.c — the error convention described in sr_error.h. */
#include "sr_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

sr_status sr_fail(sr_error *err, sr_status status, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = status;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

sr_status sr_error_wrap(sr_error *err, sr_status status, const char *fmt, ...) {
    if (!err) return status;
    char old[SR_ERROR_MESSAGE_MAX];
    memcpy(old, err->message, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    /* Append ": " and the old message, cut at the buffer's end. */
    size_t used = strlen(err->message);
    size_t room = sizeof err->message - used - 1;
    size_t old_len = strnlen(old, sizeof old - 1);
    const char sep[] = ": ";
    size_t n = room < 2 ? room : 2;
    memcpy(err->message + used, sep, n);
    used += n;
    room -= n;
    n = old_len < room ? old_len : room;
    memcpy(err->message + used, old, n);
    err->message[used + n] = '\0';
    return status;
}

const char *sr_status_name(sr_status status) {
    static const char *const names[SR_STATUS_COUNT] = {
        [SR_OK] = "ok",
        [SR_ERR_NOMEM] = "out_of_memory",
        [SR_ERR_IO] = "io",
        [SR_ERR_INVALID_ARG] = "invalid_argument",
        [SR_ERR_CONFIG] = "config",
        [SR_ERR_KAFKA] = "kafka",
        [SR_ERR_PARSE] = "parse",
        [SR_ERR_SCHEMA] = "schema",
        [SR_ERR_NOT_FOUND] = "not_found",
        [SR_ERR_LIMIT] = "limit",
        [SR_ERR_ABORTED] = "transaction_aborted",
        [SR_ERR_TRUNCATED] = "truncated",
        [SR_ERR_BAD_MAGIC] = "bad_magic",
        [SR_ERR_UNKNOWN_SCHEMA] = "unknown_schema_id",
        [SR_ERR_BAD_VARINT] = "bad_varint",
        [SR_ERR_BAD_UNION] = "bad_union_branch",
        [SR_ERR_BAD_ENUM] = "bad_enum_symbol",
        [SR_ERR_TRAILING_BYTES] = "trailing_bytes",
        [SR_ERR_BAD_LENGTH] = "bad_length",
        [SR_ERR_INVALID_VALUE] = "invalid_value",
    };
    if ((unsigned)status >= SR_STATUS_COUNT || !names[status]) return "unknown_status";
    return names[status];
}
