/*
 * avro_binary.c — the out-of-line half of avro_binary.h: the error paths of the
 * inline readers (kept cold so the decode loop stays small) and the writers.
 */
#include "codec/avro_binary.h"

#include <inttypes.h>

sr_status sr_avro_fail_truncated(const sr_avro_reader *r, const char *what, sr_error *err) {
    return sr_fail(err, SR_ERR_TRUNCATED, "%s: value at byte %zu runs past the end of the %zu-byte record",
                   what, sr_avro_offset(r), (size_t)(r->end - r->start));
}

sr_status sr_avro_fail_varint(const sr_avro_reader *r, const char *what, const char *why,
                              sr_error *err) {
    return sr_fail(err, SR_ERR_BAD_VARINT, "%s: varint at byte %zu %s", what, sr_avro_offset(r), why);
}

sr_status sr_avro_read_block_count(sr_avro_reader *r, const char *what, int64_t *count,
                                   sr_error *err) {
    sr_avro_reader at = *r;
    sr_status s = sr_avro_read_long(r, what, count, err);
    if (s != SR_OK) return s;
    if (*count < -SR_AVRO_MAX_LENGTH || *count > SR_AVRO_MAX_LENGTH)
        return sr_avro_fail_length(&at, what, *count, err);
    if (*count >= 0) return SR_OK;
    *count = -*count;
    int64_t size;
    return sr_avro_read_length(r, what, &size, err);
}

sr_status sr_avro_fail_length(const sr_avro_reader *r, const char *what, int64_t len,
                              sr_error *err) {
    return sr_fail(err, SR_ERR_BAD_LENGTH, "%s: length %" PRId64 " at byte %zu is %s", what, len,
                   sr_avro_offset(r), len < 0 ? "negative" : "beyond 2^31-1");
}

size_t sr_avro_put_long(uint8_t *p, int64_t v) {
    /* Zigzag: small magnitudes of either sign get short encodings. */
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;
    while (z > 0x7f) {
        p[n++] = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    p[n++] = (uint8_t)z;
    return n;
}

static size_t put_le(uint8_t *p, uint64_t bits, unsigned n) {
    for (unsigned i = 0; i < n; i++) p[i] = (uint8_t)(bits >> (8 * i));
    return n;
}

size_t sr_avro_put_double(uint8_t *p, double v) {
    uint64_t bits;
    memcpy(&bits, &v, 8);
    return put_le(p, bits, 8);
}

size_t sr_avro_put_float(uint8_t *p, float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    return put_le(p, bits, 4);
}
