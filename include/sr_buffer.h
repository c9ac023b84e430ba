/*
 * sr_buffer.h — a growable byte buffer, the output of every encoder.
 *
 *     sr_buffer buf = {0};
 *     if (sr_buffer_append(&buf, bytes, n, &err) != SR_OK) ...
 *     produce(buf.data, buf.len);
 *     sr_buffer_reset(&buf);   // keeps the memory for the next record
 *     sr_buffer_free(&buf);
 */
#ifndef SR_BUFFER_H
#define SR_BUFFER_H

#include <stddef.h>
#include <stdint.h>

#include "sr_error.h"

typedef struct sr_buffer {
    uint8_t *data;
    size_t len;
    size_t cap;
} sr_buffer;

/* Makes room for at least `extra` more bytes; fails only with SR_ERR_NOMEM. */
sr_status sr_buffer_reserve(sr_buffer *buf, size_t extra, sr_error *err);
sr_status sr_buffer_append(sr_buffer *buf, const void *bytes, size_t n, sr_error *err);
static inline void sr_buffer_reset(sr_buffer *buf) { buf->len = 0; }
void sr_buffer_free(sr_buffer *buf);

#endif
