/*
 * avro_binary.h — reading and writing the Avro binary primitives (codec-internal).
 *
 * Promise: every reader function looks only at bytes in [pos, end); it either
 * consumes exactly one well-formed value and returns SR_OK, or leaves the
 * cursor where it was and returns a status whose message names the field being
 * read (`what`) and the byte offset from the start of the message. The readers
 * are inline because they run once per field per record in the decode loop;
 * the error paths are out of line (avro_binary.c) to keep that loop small.
 *
 * Statuses: a value cut short is SR_ERR_TRUNCATED; a varint longer than 10
 * bytes or outside its type's range is SR_ERR_BAD_VARINT; a negative length,
 * or one beyond SR_AVRO_MAX_LENGTH, is SR_ERR_BAD_LENGTH.
 */
#ifndef SR_CODEC_AVRO_BINARY_H
#define SR_CODEC_AVRO_BINARY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sr_error.h"

/* Longest string/bytes/block we accept, as the Java implementation does: a
 * length beyond it is damage, not data. */
#define SR_AVRO_MAX_LENGTH INT32_MAX

/* Longest encoding of a long: 10 bytes of 7 bits. */
#define SR_AVRO_MAX_VARINT 10

typedef struct sr_avro_reader {
    const uint8_t *start;  /* start of the message, for offsets in messages */
    const uint8_t *pos;
    const uint8_t *end;
} sr_avro_reader;

static inline sr_avro_reader sr_avro_reader_make(const void *buf, size_t len) {
    const uint8_t *p = buf;
    return (sr_avro_reader){p, p, p + len};
}

static inline size_t sr_avro_offset(const sr_avro_reader *r) { return (size_t)(r->pos - r->start); }
static inline size_t sr_avro_remaining(const sr_avro_reader *r) { return (size_t)(r->end - r->pos); }

/* Out-of-line error paths; each fills err and returns its status. The inline
 * readers return the status as a constant after calling them, so that the
 * compiler sees that a failing read never leaves its output to be used. */
sr_status sr_avro_fail_truncated(const sr_avro_reader *r, const char *what, sr_error *err);
sr_status sr_avro_fail_varint(const sr_avro_reader *r, const char *what, const char *why,
                              sr_error *err);
sr_status sr_avro_fail_length(const sr_avro_reader *r, const char *what, int64_t len,
                              sr_error *err);

/* A zigzag varint long. The 10th byte may carry only the top bit (value 0/1). */
static inline sr_status sr_avro_read_long(sr_avro_reader *r, const char *what, int64_t *out,
                                          sr_error *err) {
    const uint8_t *p = r->pos;
    uint64_t acc = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (p == r->end) {
            sr_avro_fail_truncated(r, what, err);
            return SR_ERR_TRUNCATED;
        }
        uint8_t b = *p++;
        if (shift == 63 && b > 1) {
            sr_avro_fail_varint(r, what, (b & 0x80) ? "is longer than 10 bytes" : "overflows 64 bits", err);
            return SR_ERR_BAD_VARINT;
        }
        acc |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
    }
    r->pos = p;
    *out = (int64_t)((acc >> 1) ^ (~(acc & 1) + 1));
    return SR_OK;
}

/* A zigzag varint int: a long that must fit 32 bits. */
static inline sr_status sr_avro_read_int(sr_avro_reader *r, const char *what, int32_t *out,
                                         sr_error *err) {
    sr_avro_reader at = *r;
    int64_t v;
    sr_status s = sr_avro_read_long(r, what, &v, err);
    if (s != SR_OK) return s;
    if (v < INT32_MIN || v > INT32_MAX) {
        *r = at;
        sr_avro_fail_varint(r, what, "overflows an int", err);
        return SR_ERR_BAD_VARINT;
    }
    *out = (int32_t)v;
    return SR_OK;
}

/* Little-endian IEEE-754, assembled byte by byte so the host's order is irrelevant. */
static inline uint64_t sr_avro_load_le(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline sr_status sr_avro_read_double(sr_avro_reader *r, const char *what, double *out,
                                            sr_error *err) {
    if (sr_avro_remaining(r) < 8) {
        sr_avro_fail_truncated(r, what, err);
        return SR_ERR_TRUNCATED;
    }
    uint64_t bits = sr_avro_load_le(r->pos, 8);
    memcpy(out, &bits, 8);
    r->pos += 8;
    return SR_OK;
}

static inline sr_status sr_avro_read_float(sr_avro_reader *r, const char *what, float *out,
                                           sr_error *err) {
    if (sr_avro_remaining(r) < 4) {
        sr_avro_fail_truncated(r, what, err);
        return SR_ERR_TRUNCATED;
    }
    uint32_t bits = (uint32_t)sr_avro_load_le(r->pos, 4);
    memcpy(out, &bits, 4);
    r->pos += 4;
    return SR_OK;
}

/* A non-negative length, checked against SR_AVRO_MAX_LENGTH (not against the
 * bytes left: callers decide whether the length counts bytes or items). */
static inline sr_status sr_avro_read_length(sr_avro_reader *r, const char *what, int64_t *out,
                                            sr_error *err) {
    sr_avro_reader at = *r;
    int64_t n;
    sr_status s = sr_avro_read_long(r, what, &n, err);
    if (s != SR_OK) return s;
    if (n < 0 || n > SR_AVRO_MAX_LENGTH) {
        *r = at;
        sr_avro_fail_length(r, what, n, err);
        return SR_ERR_BAD_LENGTH;
    }
    *out = n;
    return SR_OK;
}

/* string or bytes: a length, then that many bytes, which stay in the input. */
static inline sr_status sr_avro_read_bytes(sr_avro_reader *r, const char *what,
                                           const uint8_t **data, size_t *len, sr_error *err) {
    sr_avro_reader at = *r;
    int64_t n;
    sr_status s = sr_avro_read_length(r, what, &n, err);
    if (s != SR_OK) return s;
    if ((uint64_t)n > sr_avro_remaining(r)) {
        *r = at;
        sr_avro_fail_truncated(r, what, err);
        return SR_ERR_TRUNCATED;
    }
    *data = r->pos;
    *len = (size_t)n;
    r->pos += n;
    return SR_OK;
}

/* Skips n raw bytes (fixed, float, double, boolean). */
static inline sr_status sr_avro_skip_raw(sr_avro_reader *r, const char *what, size_t n,
                                         sr_error *err) {
    if (sr_avro_remaining(r) < n) {
        sr_avro_fail_truncated(r, what, err);
        return SR_ERR_TRUNCATED;
    }
    r->pos += n;
    return SR_OK;
}

/* One array block's item count (0: the array ends); a negative count is
 * followed by the block's byte size, read and dropped here. */
sr_status sr_avro_read_block_count(sr_avro_reader *r, const char *what, int64_t *count,
                                   sr_error *err);

/* Writers: each stores one value at p, which has room for it (callers reserve
 * SR_AVRO_MAX_VARINT per varint), and returns the bytes written. */
size_t sr_avro_put_long(uint8_t *p, int64_t v);
size_t sr_avro_put_double(uint8_t *p, double v);
size_t sr_avro_put_float(uint8_t *p, float v);

#endif
