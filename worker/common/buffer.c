/* buffer.c — growable byte buffer; see sr_buffer.h. */
#include "sr_buffer.h"

#include <stdlib.h>
#include <string.h>

sr_status sr_buffer_reserve(sr_buffer *buf, size_t extra, sr_error *err) {
    if (extra <= buf->cap - buf->len) return SR_OK;
    if (extra > SIZE_MAX / 2 - buf->len)
        return sr_fail(err, SR_ERR_NOMEM, "buffer of %zu bytes cannot grow by %zu", buf->len, extra);
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap - buf->len < extra) cap *= 2;
    uint8_t *data = realloc(buf->data, cap);
    if (!data) return sr_fail(err, SR_ERR_NOMEM, "out of memory growing a buffer to %zu bytes", cap);
    buf->data = data;
    buf->cap = cap;
    return SR_OK;
}

sr_status sr_buffer_append(sr_buffer *buf, const void *bytes, size_t n, sr_error *err) {
    sr_status status = sr_buffer_reserve(buf, n, err);
    if (status != SR_OK) return status;
    if (n) memcpy(buf->data + buf->len, bytes, n);
    buf->len += n;
    return SR_OK;
}

void sr_buffer_free(sr_buffer *buf) {
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}
